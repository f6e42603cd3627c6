"""Releases: read a release file (Markdown with front matter, or plain text as comms staff
paste it), refuse a malformed one with the line and the reason, and store it.

Nothing is stored unless the whole file is understood.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from distribute.errors import UserError
from distribute.models import Campaign, Release, utcnow
from distribute.states import CANCELLED

MAX_TITLE = 500


class ReleaseError(UserError):
    def __init__(self, source: str, line: int | None, reason: str):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.line = line
        self.reason = reason


@dataclass
class ReleaseDraft:
    title: str
    body: str
    source_format: str  # markdown | text
    subtitle: str | None = None
    dateline: str | None = None
    release_date: dt.date | None = None
    embargo_until: dt.datetime | None = None
    language: str = "en"
    media_contact: dict[str, str] | None = None
    boilerplate: str | None = None
    cta_label: str | None = None
    cta_url: str | None = None


# --- shared pieces ---------------------------------------------------------------------------

# "Washington, DC – ", "LONDON — ", "GENEVA, Switzerland (Nov. 25, 2026) -- ": a place of a few
# capitalised words, an optional ", REGION", an optional date in parentheses, then a dash.
# Requiring capitals keeps ordinary sentences ("The group – which …") from matching.
_PLACE_WORD = r"(?:[A-Z][\w.'’-]*|of|de|la|el|al|am|upon)"
# Words that open sentences, not place names.
_NOT_PLACE = r"(?!(?:On|In|At|The|A|An|This|That|Today|Yesterday|Tomorrow|We|Our|It|As|For|But|And)\b)"
DATELINE = re.compile(
    rf"^{_NOT_PLACE}(?P<dateline>{_PLACE_WORD}(?:\s{_PLACE_WORD}){{0,3}}"
    rf"(?:,\s*[A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){{0,2}})?"
    r"(?:\s*\([^)\n]{1,40}\))?)"
    r"\s*(?:–|—|--?)\s+(?=\S)"
)


def split_dateline(paragraph: str) -> tuple[str | None, str]:
    """("Washington, DC", "On Tuesday …") from "Washington, DC – On Tuesday …"."""
    match = DATELINE.match(paragraph)
    if not match:
        return None, paragraph
    return match.group("dateline").strip(), paragraph[match.end():]


def parse_when(value: Any, zone: ZoneInfo) -> dt.datetime:
    """An ISO time; a time without zone is read in the configured zone."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip()
        try:
            when = dt.datetime.fromisoformat(text.replace(" UTC", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not a time: write it as 2026-12-01 09:00 or 2026-12-01T09:00-05:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(dt.UTC)


def parse_contact(value: Any) -> dict[str, str]:
    """A media contact from "Name <email>, +1 202 555 0100" or a {name, email, phone} mapping."""
    if isinstance(value, dict):
        unknown = set(value) - {"name", "email", "phone", "title"}
        if unknown:
            raise ValueError(f"unknown media_contact field(s): {', '.join(sorted(unknown))} (use name, email, phone, title)")
        contact = {k: str(v).strip() for k, v in value.items() if v not in (None, "")}
    else:
        text = " ".join(str(value).split())
        contact = {}
        email = re.search(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", text)
        if email:
            contact["email"] = email.group(0)
            text = text.replace(email.group(0), " ")
        phone = re.search(r"\+?\d[\d ().-]{6,}\d", text)
        if phone:
            contact["phone"] = phone.group(0).strip()
            text = text.replace(phone.group(0), " ")
        name = re.sub(r"[<>,;|]|\b(?:email|e-mail|phone|tel|mobile)\s*:?", " ", text, flags=re.I)
        name = " ".join(name.split()).strip(" -–:")
        if name:
            contact["name"] = name
    if "email" in contact and "@" not in parseaddr(contact["email"])[1]:
        raise ValueError(f"media contact email {contact['email']!r} is not an address")
    if not contact.get("email") and not contact.get("phone"):
        raise ValueError("a media contact needs an email address or a phone number")
    return contact


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 80:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or "release"


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM); Word and Outlook pastes saved as cp1252 are read too."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ReleaseError(source, line, "the file is binary (a NUL byte), not text: save it as plain text or Markdown")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReleaseError(source, line, f"byte 0x{data[exc.start]:02x} is neither UTF-8 nor Windows-1252 text") from None


# --- Markdown with front matter --------------------------------------------------------------

FRONT_MATTER_KEYS = {
    "title", "subtitle", "dateline", "date", "embargo", "media_contact", "contact", "boilerplate",
    "about", "call_to_action", "cta", "cta_label", "cta_url", "language", "lang",
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


def _text_value(values: dict, key: str, source: str, *, limit: int = 2000) -> str | None:
    if key not in values:
        return None
    value, line = values[key]
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        raise ReleaseError(source, line, f"{key!r} must be text, not a {type(value).__name__}")
    text = " ".join(str(value).split()) if limit <= MAX_TITLE else str(value).strip()
    if len(text) > limit:
        raise ReleaseError(source, line, f"{key!r} is {len(text)} characters long; the limit is {limit}")
    return text


def parse_markdown(text: str, source: str, zone: ZoneInfo, title: str | None = None) -> ReleaseDraft:
    values, body, body_line = _front_matter(text, source)

    def pick(*keys):
        return next((k for k in keys if k in values), keys[0])

    title = title or _text_value(values, "title", source, limit=MAX_TITLE)
    if not title:
        raise ReleaseError(source, 1, "the front matter has no 'title' (or pass --title)")
    draft = ReleaseDraft(title=title, body="", source_format="markdown")
    draft.subtitle = _text_value(values, "subtitle", source, limit=MAX_TITLE)
    draft.dateline = _text_value(values, "dateline", source, limit=200)
    draft.boilerplate = _text_value(values, pick("boilerplate", "about"), source, limit=5000)
    draft.language = (_text_value(values, pick("language", "lang"), source, limit=16) or "en").lower()
    if not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", draft.language):
        raise ReleaseError(source, values[pick("language", "lang")][1], f"language {draft.language!r} is not a language tag such as en or pt-br")

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
            draft.embargo_until = parse_when(value, zone)
        except ValueError as exc:
            raise ReleaseError(source, line, f"embargo: {exc}") from None
    contact_key = pick("media_contact", "contact")
    if contact_key in values and values[contact_key][0]:
        value, line = values[contact_key]
        try:
            draft.media_contact = parse_contact(value)
        except ValueError as exc:
            raise ReleaseError(source, line, str(exc)) from None

    cta_key = pick("call_to_action", "cta")
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
        raise ReleaseError(source, values.get(cta_key, values.get("cta_url", (None, None)))[1], f"the call to action link {draft.cta_url!r} must be an http(s) address")

    body = body.strip("\n")
    if not body.strip():
        raise ReleaseError(source, body_line, "the release has no body after its front matter")
    if not draft.dateline:
        draft.dateline, body = split_dateline(body.lstrip())
    draft.body = body.strip() + "\n"
    return draft


# --- plain text as pasted --------------------------------------------------------------------

_IMMEDIATE = re.compile(r"^\s*for\s+immediate\s+release\s*:?\s*$", re.I)
_EMBARGO = re.compile(r"^\s*embargo(?:ed)?\s*(?:until|till|to)?\s*:?\s*(?P<when>.+)$", re.I)
_CONTACT = re.compile(r"^\s*(?:media\s+|press\s+)?contacts?\s*:\s*(?P<rest>.*)$", re.I)
_END_MARKS = {"###", "# # #", "-30-", "- 30 -", "ends", "-ends-", "— ends —"}
_ABOUT = re.compile(r"^\s*about\s+\S.{0,100}$", re.I)


@dataclass
class _Paragraph:
    text: str
    line: int


def _paragraphs(text: str) -> list[_Paragraph]:
    paragraphs, current, start = [], [], 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if line.strip():
            if not current:
                start = number
            current.append(line.strip())
        elif current:
            paragraphs.append(_Paragraph("\n".join(current), start))
            current = []
    if current:
        paragraphs.append(_Paragraph("\n".join(current), start))
    return paragraphs


def _looks_like_heading(p: _Paragraph) -> bool:
    return "\n" not in p.text and len(p.text) <= 200 and not p.text.endswith((".", ",", ";", ":")) and not DATELINE.match(p.text)


def parse_text(text: str, source: str, zone: ZoneInfo, title: str | None = None) -> ReleaseDraft:
    paragraphs = _paragraphs(text)
    if not paragraphs:
        raise ReleaseError(source, 1, "the file is empty")
    draft = ReleaseDraft(title=title or "", body="", source_format="text")

    # Header lines before the body: FOR IMMEDIATE RELEASE, EMBARGOED UNTIL …, title, subtitle.
    while paragraphs:
        first = paragraphs[0]
        head, _, rest = first.text.partition("\n")
        if _IMMEDIATE.match(head):
            first.text, first.line = rest, first.line + 1
        elif (m := _EMBARGO.match(head)) and len(head) < 120:
            try:
                draft.embargo_until = parse_when(m.group("when").strip().rstrip("."), zone)
            except ValueError as exc:
                raise ReleaseError(source, first.line, f"embargo line: {exc}") from None
            first.text, first.line = rest, first.line + 1
        else:
            break
        if not first.text.strip():
            paragraphs.pop(0)
    if not paragraphs:
        raise ReleaseError(source, 1, "the file has a header but no body")

    body_start = next((i for i, p in enumerate(paragraphs) if DATELINE.match(p.text)), None)
    if body_start is not None and body_start <= 2:
        headings = paragraphs[:body_start]
    else:  # no dateline near the top: a short first line is the title, when there is more after it
        headings = paragraphs[:1] if len(paragraphs) > 1 and _looks_like_heading(paragraphs[0]) else []
    for p in headings:
        if not _looks_like_heading(p):
            raise ReleaseError(source, p.line, "expected the title (one line) before the dateline paragraph")
    if headings:
        file_title = headings[0].text
        draft.title = title or file_title
        if len(headings) > 1:
            draft.subtitle = headings[1].text
    paragraphs = paragraphs[len(headings):]
    if not draft.title:
        raise ReleaseError(source, paragraphs[0].line if paragraphs else 1,
                           "the release has no title line before its first paragraph: pass --title \"…\"")
    if len(draft.title) > MAX_TITLE:
        raise ReleaseError(source, 1, f"the title is {len(draft.title)} characters long; the limit is {MAX_TITLE}")
    if not paragraphs:
        raise ReleaseError(source, headings[-1].line, "the release has a title but no body")

    # Trailer: "###" ends the body; an "About …" heading starts the boilerplate; a "Media
    # contact:" paragraph is the contact. Whatever else follows "###" is boilerplate too.
    body: list[_Paragraph] = []
    about: list[str] = []
    contact_lines: list[tuple[str, int]] = []
    after_body = False
    for p in paragraphs:
        first_line, _, rest = p.text.partition("\n")
        if p.text.strip().lower() in _END_MARKS:
            after_body = True
        elif (m := _CONTACT.match(first_line)) and (after_body or len(p.text) < 300):
            contact_lines += [(m.group("rest"), p.line)] + [(line, p.line) for line in rest.split("\n")]
            after_body = True
        elif _ABOUT.match(first_line) and (after_body or not rest):
            # A heading alone on its line; "About 200 people gathered …" in the body has more lines.
            after_body = True
            if rest:
                about.append(" ".join(rest.split("\n")))
        elif after_body:
            about.append(" ".join(p.text.split("\n")))
        else:
            body.append(p)
    if not body:
        raise ReleaseError(source, paragraphs[0].line, "the release has no body paragraphs")
    if contact_lines:
        try:
            draft.media_contact = parse_contact(" ".join(line for line, _ in contact_lines if line))
        except ValueError as exc:
            raise ReleaseError(source, contact_lines[0][1], f"media contact: {exc}") from None
    if about:
        draft.boilerplate = "\n\n".join(about)

    draft.dateline, first = split_dateline(body[0].text)
    body[0].text = first
    # Each paragraph is kept as written: line breaks inside a paragraph are joined, quotes untouched.
    draft.body = "\n\n".join(" ".join(p.text.split("\n")) for p in body) + "\n"
    return draft


# --- reading and storing ---------------------------------------------------------------------

def read_release(path: Path, *, zone: ZoneInfo, title: str | None = None, fmt: str = "auto") -> ReleaseDraft:
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseError(source, None, "no such file") from None
    except IsADirectoryError:
        raise ReleaseError(source, None, "is a directory, not a release file") from None
    if not data.strip():
        raise ReleaseError(source, 1, "the file is empty")
    text = decode(data, source).replace("\r\n", "\n").replace("\r", "\n")
    if title is not None:
        title = " ".join(title.split())
        if not title:
            raise ReleaseError(source, None, "--title is empty")
    if fmt == "auto":
        fmt = "markdown" if path.suffix.lower() in (".md", ".markdown") or text.lstrip("\ufeff").startswith("---") else "text"
    parse = parse_markdown if fmt == "markdown" else parse_text
    return parse(text, source, zone, title)


def unique_slug(session: Session, title: str) -> str:
    base = slugify(title)
    taken = set(session.scalars(select(Release.slug).where(Release.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# What a release says: every field a reader of the email sees. The slug is only its name here.
CONTENT_FIELDS = ("title", "subtitle", "dateline", "release_date", "embargo_until", "language", "body",
                  "media_contact", "boilerplate", "cta_label", "cta_url")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def content_hash(item: ReleaseDraft | Release) -> str:
    """SHA-256 over the content fields of a draft or a stored release: equal when a reader would
    see the same email (the same file read twice, or saved with other line endings)."""
    def plain(value):
        return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value

    canonical = {name: plain(getattr(item, name)) for name in CONTENT_FIELDS}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Saved:
    release: Release
    outcome: str  # "stored" | "updated" | "identical" (nothing stored: `release` is the one it equals)


def save_release(session: Session, draft: ReleaseDraft, *, slug: str | None = None, must_exist: bool = False) -> Saved:
    """Store a draft: as a new release, or as the new text of release `slug` while none of its
    campaigns has started. Text identical to a stored release stores nothing."""
    if slug is not None and not (_SLUG.fullmatch(slug) and len(slug) <= 120):
        raise UserError(f"slug {slug!r}: use up to 120 lowercase letters, digits and single hyphens, "
                        "e.g. aleppo-office-destroyed")
    digest = content_hash(draft)
    _hash_older_releases(session)
    identical = session.scalar(select(Release).where(Release.content_hash == digest).order_by(Release.id).limit(1))
    existing = session.scalar(select(Release).where(Release.slug == slug)) if slug else None
    if must_exist and existing is None:
        raise UserError(f"no release with slug {slug!r} to update")
    if identical is not None and (existing is None or existing.id == identical.id):
        return Saved(identical, "identical")
    if existing is not None:
        started = first_started_campaign(session, existing)
        if started is not None:
            raise UserError(
                f"release {existing.slug} cannot be changed: campaign {started.id} started sending it on "
                f"{started.started_at:%Y-%m-%d %H:%M} UTC, and its recipients have that text; "
                "store the new text as a new release under another slug"
            )
        for name in CONTENT_FIELDS + ("source_format",):
            setattr(existing, name, getattr(draft, name))
        existing.content_hash, existing.updated_at = digest, utcnow()
        session.flush()
        return Saved(existing, "updated")
    release = Release(slug=slug or unique_slug(session, draft.title), content_hash=digest, source_format=draft.source_format,
                      **{name: getattr(draft, name) for name in CONTENT_FIELDS})
    session.add(release)
    session.flush()
    return Saved(release, "stored")


def _hash_older_releases(session: Session) -> None:
    """Releases stored before hashes were kept get theirs now (a one-off, a few rows)."""
    for release in session.scalars(select(Release).where(Release.content_hash.is_(None))):
        release.content_hash = content_hash(release)


def store_release(session: Session, draft: ReleaseDraft) -> Release:
    """Save a draft as a new release, or find the identical one already stored."""
    return save_release(session, draft).release


def first_started_campaign(session: Session, release: Release) -> Campaign | None:
    """The first real (non-test) campaign of the release that has started sending, if any."""
    return session.scalar(
        select(Campaign).where(Campaign.release_id == release.id, Campaign.is_test.is_(False),
                               Campaign.started_at.is_not(None)).order_by(Campaign.started_at).limit(1)
    )


def remove_release(session: Session, release: Release) -> None:
    """Delete a release that was never sent, with its test sends and cancelled campaigns."""
    started = first_started_campaign(session, release)
    if started is not None:
        raise UserError(f"release {release.slug} was sent (campaign {started.id}): a sent release is kept, "
                        "with its deliveries and stats")
    pending = session.scalar(
        select(Campaign).where(Campaign.release_id == release.id, Campaign.is_test.is_(False),
                               Campaign.state != CANCELLED).limit(1)
    )
    if pending is not None:
        raise UserError(f"release {release.slug} is in campaign {pending.id} ({pending.state}): cancel that campaign first")
    session.execute(delete(Campaign).where(Campaign.release_id == release.id))  # deliveries and events cascade
    session.delete(release)
    session.flush()


def get_release(session: Session, ref: str) -> Release:
    """A release by id or slug."""
    release = None
    if ref.isdigit():
        release = session.get(Release, int(ref))
    if release is None:
        release = session.scalar(select(Release).where(Release.slug == ref))
    if release is None:
        recent = session.scalars(select(Release.slug).order_by(Release.id.desc()).limit(5)).all()
        hint = f"; recent releases: {', '.join(recent)}" if recent else "; add one with `distribute release add FILE`"
        raise UserError(f"no release with id or slug {ref!r}{hint}")
    return release
