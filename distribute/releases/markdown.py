"""A Markdown release: YAML front matter (title, dateline, embargo, contacts, call to action …)
then a Markdown body. The body's opening dateline is read as in plain text, an end mark
("###", which Markdown would show as an empty heading) ends it, and what follows the end mark
is read as a plain-text trailer (notes to editors, "About …", contacts)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from distribute.releases import lines as L
from distribute.releases.contacts import from_front_matter
from distribute.releases.dates import DateError, parse_when
from distribute.releases.blocks import blocks_of
from distribute.releases.draft import LANGUAGE_TAG, MAX_TITLE, ReleaseDraft, ReleaseError
from distribute.releases.trailer import Trailer

FRONT_MATTER_KEYS = {
    "title", "subtitle", "label", "dateline", "date", "embargo", "media_contact", "contact", "contacts",
    "boilerplate", "about", "boilerplate_heading", "about_heading", "call_to_action", "cta", "cta_label",
    "cta_url", "language", "lang", "notes", "notes_to_editors",
}


def _front_matter(text: str, source: str) -> tuple[dict[str, tuple[Any, int]], str, int]:
    """Split '---\\nYAML\\n---\\nbody'; return ({key: (value, line)}, body, first body line)."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        raise ReleaseError(source, 1, "a Markdown release starts with a '---' line opening its front matter (title, dateline, …)")
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise ReleaseError(source, 1, "the front matter opened on line 1 is never closed with a '---' line")
    header = "\n".join(lines[1:end])
    loader = yaml.SafeLoader(header)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ReleaseError(source, 2, "the front matter is empty: it needs at least a title")
        if not isinstance(node, yaml.MappingNode):
            raise ReleaseError(source, node.start_mark.line + 2, "the front matter must be 'key: value' lines")
        values: dict[str, tuple[Any, int]] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 2
            key = str(loader.construct_object(key_node, deep=True)).strip().lower().replace("-", "_").replace(" ", "_")
            if key not in FRONT_MATTER_KEYS:
                raise ReleaseError(source, line, f"unknown front matter key {key!r}; known keys: {', '.join(sorted(FRONT_MATTER_KEYS))}")
            if key in values:
                raise ReleaseError(source, line, f"{key!r} is given twice (first on line {values[key][1]})")
            try:
                values[key] = (loader.construct_object(value_node, deep=True), line)
            except ValueError as exc:  # YAML read 2026-13-45 as a date and failed
                raise ReleaseError(source, line, f"{key!r} could not be read: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else 2
        raise ReleaseError(source, line, f"front matter is not valid YAML: {exc.problem or exc.context}") from None
    finally:
        loader.dispose()
    return values, "\n".join(lines[end + 1:]), end + 2


_SPACES = re.compile(r"[ \t\r\n]+")


def _text_value(values: dict, key: str, source: str, *, limit: int = 2000) -> str | None:
    if key not in values:
        return None
    value, line = values[key]
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        raise ReleaseError(source, line, f"{key!r} must be text, not a {type(value).__name__}")
    # Spaces and line ends are collapsed, not the no-break spaces of French typography ("titre :").
    text = " ".join(_SPACES.split(str(value).strip())) if limit <= MAX_TITLE else str(value).strip()
    if len(text) > limit:
        raise ReleaseError(source, line, f"{key!r} is {len(text)} characters long; the limit is {limit}")
    return text


def parse_markdown(text: str, source: str, zone: ZoneInfo, title: str | None = None) -> ReleaseDraft:
    values, body, body_line = _front_matter(text, source)

    def pick(*keys):
        return next((k for k in keys if k in values), keys[0])

    title = title or _text_value(values, "title", source, limit=MAX_TITLE)
    if not title:
        raise ReleaseError(source, 1, "the front matter has no 'title', and no title was given", field="title")
    draft = ReleaseDraft(title=title, body="", source_format="markdown", language="")
    draft.subtitle = _text_value(values, "subtitle", source, limit=MAX_TITLE)
    draft.label = _text_value(values, "label", source, limit=200)
    draft.dateline = _text_value(values, "dateline", source, limit=200)
    draft.boilerplate = _text_value(values, pick("boilerplate", "about"), source, limit=5000)
    draft.boilerplate_heading = _text_value(values, pick("boilerplate_heading", "about_heading"), source, limit=500)
    language = _text_value(values, pick("language", "lang"), source, limit=16)
    if language:
        draft.language = language.lower().replace("_", "-")
        if not LANGUAGE_TAG.fullmatch(draft.language):
            raise ReleaseError(source, values[pick("language", "lang")][1],
                               f"language {draft.language!r} is not a language tag such as en or pt-br")

    if "date" in values and values["date"][0] not in (None, ""):
        value, line = values["date"]
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            try:
                value = dt.date.fromisoformat(str(value).strip())
            except ValueError:
                raise ReleaseError(source, line, f"date {value!r} is not a date: write it as 2026-11-25") from None
        draft.release_date = value
    if "embargo" in values and values["embargo"][0] not in (None, ""):
        value, line = values["embargo"]
        try:
            draft.embargo_until = parse_when(value, zone, default_year=draft.release_date and draft.release_date.year)
        except ValueError as exc:
            raise ReleaseError(source, line, f"embargo: {exc}") from None
    draft.contacts = _contacts(values, source)
    draft.notes = _notes(values, source)
    _call_to_action(draft, values, source)

    # A printed release's page marks ("- more -", "- 2 -") would be list items here: they are not text.
    body = "\n".join("" if L.page_mark(line) else line for line in body.strip("\n").split("\n"))
    if not body.strip():
        raise ReleaseError(source, body_line, "the release has no body after its front matter")
    body = _trailer(draft, body, source, body_line)
    if not draft.dateline:
        body = _dateline(draft, body, source, body_line)
    draft.body = body.strip() + "\n"
    return draft


def _contacts(values: dict, source: str) -> list[dict[str, Any]]:
    contacts = []
    for key in ("media_contact", "contact", "contacts"):
        if key not in values or not values[key][0]:
            continue
        value, line = values[key]
        items = value if key == "contacts" and isinstance(value, list) else [value]
        for item in items:
            try:
                contacts.append(from_front_matter(item))
            except ValueError as exc:
                raise ReleaseError(source, line, str(exc)) from None
    return contacts


def _notes(values: dict, source: str) -> list[str]:
    key = "notes" if "notes" in values else "notes_to_editors"
    if key not in values or not values[key][0]:
        return []
    value, line = values[key]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ReleaseError(source, line, f"{key!r} is a list of notes, one '- note' line each")
    return [" ".join(str(v).split()) for v in value]


def _call_to_action(draft: ReleaseDraft, values: dict, source: str) -> None:
    cta_key = "call_to_action" if "call_to_action" in values else "cta"
    if cta_key in values and values[cta_key][0]:
        value, line = values[cta_key]
        if not isinstance(value, dict) or not {"label", "url"} <= set(value):
            raise ReleaseError(source, line, f"{cta_key!r} needs a label and a url, e.g. '{cta_key}: {{label: Call Congress, url: https://…}}'")
        draft.cta_label, draft.cta_url = str(value["label"]).strip(), str(value["url"]).strip()
    else:
        draft.cta_label = _text_value(values, "cta_label", source, limit=200)
        draft.cta_url = _text_value(values, "cta_url", source, limit=2000)
        if bool(draft.cta_label) != bool(draft.cta_url):
            line = values.get("cta_label", values.get("cta_url"))[1]
            raise ReleaseError(source, line, "a call to action needs both cta_label and cta_url")
    if draft.cta_url and not re.match(r"https?://[^\s/]+", draft.cta_url):
        raise ReleaseError(source, values.get(cta_key, values.get("cta_url", (None, None)))[1],
                           f"the call to action link {draft.cta_url!r} must be an http(s) address")


# A Markdown heading ("## About the Trust", "### Media contact"): unlike a plain-text line, it
# cannot be the first words of a paragraph.
_HEADING = re.compile(r"^#{1,6}[ \t]+\S")
# At most this many paragraphs under the trailer's first heading: more, and it is a body section.
_TRAILER_PARAGRAPHS = 3


def _trailer_heading(lines: list[str]) -> int | None:
    """Without an end mark, the trailer opens at a Markdown heading that is the release's "About …",
    its notes to editors or its media contact, when the release ends soon after it."""
    for index, line in enumerate(lines):
        if _HEADING.match(line) and (L.about_heading(line) or L.notes_heading(line, after_end=False)
                                     or L.contact_cue(line) is not None):
            paragraphs = [b for b in blocks_of("\n".join(lines[index + 1:])) if not _HEADING.match(b[0].text)]
            if len(paragraphs) <= _TRAILER_PARAGRAPHS:
                return index
    return None


def _trailer(draft: ReleaseDraft, body: str, source: str, body_line: int) -> str:
    """The body up to its end mark (or its trailer's first heading); what follows fills what the
    front matter left empty."""
    lines = body.split("\n")
    end = next((i for i, line in enumerate(lines) if L.end_mark(line.strip())), None)
    if end is not None:
        draft.end_mark = L.end_mark(lines[end].strip())
        first = end + 1
    elif (end := _trailer_heading(lines)) is not None:
        first = end
    else:
        return body
    trailer = Trailer(ReleaseDraft(title="", body="", source_format="markdown"), source)
    notes, boilerplate = trailer.sections(blocks_of("\n".join(lines[first:]), body_line + first), after_end=True)[1:]
    draft.notes = draft.notes or notes
    if not draft.boilerplate:
        draft.boilerplate_heading = draft.boilerplate_heading or trailer.draft.boilerplate_heading
        draft.boilerplate = boilerplate
    draft.contacts = draft.contacts or trailer.contacts()
    if not "\n".join(lines[:end]).strip():
        before = "its end mark" if draft.end_mark else f"its heading {lines[end].strip()!r}"
        raise ReleaseError(source, body_line + end, f"the release has no body before {before}")
    return "\n".join(lines[:end])


def _dateline(draft: ReleaseDraft, body: str, source: str, body_line: int) -> str:
    stripped = body.lstrip()
    hit = L.dateline(stripped.split("\n", 1)[0])
    if hit is None:
        return body
    draft.dateline, draft.dateline_dash = hit.place, hit.dash
    if hit.date and draft.release_date is None:
        try:
            draft.release_date = hit.date.date(weekday=False)
        except DateError as exc:
            raise ReleaseError(source, body_line, str(exc)) from None
    return stripped[hit.end:]
