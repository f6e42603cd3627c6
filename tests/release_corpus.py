"""The release corpus: releases written in the formats comms staff paste, each beside a
NAME.expected.yaml holding what a careful reader takes from it, or the error it must raise.

tests/releases/test_corpus.py checks every field of every file. Run as a script, this module
scores the reader field by field, so a change to the reader can be measured:

    .venv/bin/python tests/release_corpus.py

An expected file names every field in FIELDS: the draft's own fields as a careful press officer
would store them (null when the release does not say), plus checks on the text around them:
boilerplate_starts, body_starts and body_ends (the first or last characters of the boilerplate
and of the body), body_blocks (the kinds from content.blocks, in order) and lists (the items of
each list). Strings are compared with runs of whitespace, no-break spaces included, made one
space; embargoes as UTC instants. A file the reader must refuse holds only
`error: {line: N, contains: word}`, the word being one the reason must hold.

The scorer also reads drafts from the reader before the corpus was written (one `media_contact`
dict instead of `contacts`, no `content.blocks`), so "before" and "after" are counted alike.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from distribute.releases import content
from distribute.releases.store import ReleaseError, read_release

CORPUS = Path(__file__).resolve().parent / "data" / "releases" / "corpus"
UTC = ZoneInfo("UTC")  # the tests' DISTRIBUTE_TIMEZONE: times written without a zone are UTC

FIELDS = (
    "title", "subtitle", "label", "dateline", "dateline_dash", "release_date", "embargo_until", "language",
    "contacts", "boilerplate_heading", "boilerplate_starts", "cta_label", "cta_url", "end_mark", "notes",
    "body_blocks", "body_starts", "body_ends", "lists",
)
CONTACT_KEYS = ("name", "title", "organisation", "email", "phones")
MISSING = "<the draft has no such attribute>"

Blocks = Callable[[str, str], list]


def releases() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and not p.name.endswith(".yaml"))


def expected_for(path: Path) -> dict[str, Any]:
    """The expected file, checked: every field, or only `error: {line, contains}`."""
    source = path.with_name(path.stem + ".expected.yaml")
    expected = yaml.safe_load(source.read_text("utf-8"))
    if "error" in expected:
        if set(expected) != {"error"} or set(expected["error"]) != {"line", "contains"}:
            raise ValueError(f"{source.name}: an error file holds only error: {{line: N, contains: …}}")
    elif set(expected) != set(FIELDS):
        missing, unknown = set(FIELDS) - set(expected), set(expected) - set(FIELDS)
        raise ValueError(f"{source.name}: missing fields {sorted(missing)}, unknown fields {sorted(unknown)}")
    return expected


def norm(value: Any) -> Any:
    """Runs of whitespace (no-break spaces included) become one space; nothing else changes."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    return value


def _instant(value: Any) -> Any:
    """An embargo as comparable text: the UTC instant, or what was found instead."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return f"{value.isoformat()} (no zone)"
        return value.astimezone(dt.UTC).isoformat()
    return value


def _day(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _contacts(draft: Any, tolerant: bool) -> Any:
    if hasattr(draft, "contacts"):
        found = draft.contacts
    elif tolerant:
        # The earlier reader kept one contact: {"name", "title", "email", "phone"}.
        old = getattr(draft, "media_contact", None) or {}
        found = [{"name": old.get("name"), "title": old.get("title"), "organisation": None,
                  "email": old.get("email"), "phones": [old["phone"]] if old.get("phone") else []}] if old else []
    else:
        return MISSING
    if not isinstance(found, list):
        return found
    return [norm({key: c.get(key) for key in CONTACT_KEYS}) if isinstance(c, dict) else c for c in found]


def _blocks(draft: Any, blocks: Blocks | None, tolerant: bool) -> list[tuple[str, Any]] | None:
    if blocks is not None:
        return [(kind, norm(value)) for kind, value in blocks(draft.body, draft.source_format)]
    if not tolerant:
        return None
    # The earlier code had no content.blocks: a body was paragraphs split on blank lines.
    return [("p", norm(p)) for p in draft.body.split("\n\n") if p.strip()]


def observed(draft: Any, *, blocks: Blocks | None, tolerant: bool = False) -> dict[str, Any]:
    """What the draft holds, field by field, in the corpus's terms. `tolerant` maps the attributes
    of the earlier reader's drafts; without it a missing attribute is reported as missing."""
    def attr(name: str, default: Any = None) -> Any:
        if hasattr(draft, name):
            return getattr(draft, name)
        return default if tolerant else MISSING

    body = norm(draft.body or "")
    found = _blocks(draft, blocks, tolerant)
    no_blocks = "<distribute.releases.content has no blocks()>"
    return {
        "title": norm(attr("title")), "subtitle": norm(attr("subtitle")), "label": norm(attr("label")),
        "dateline": norm(attr("dateline")), "dateline_dash": norm(attr("dateline_dash")),
        "release_date": _day(attr("release_date")), "embargo_until": _instant(attr("embargo_until")),
        "language": norm(attr("language")), "contacts": _contacts(draft, tolerant),
        "boilerplate_heading": norm(attr("boilerplate_heading")), "boilerplate": norm(attr("boilerplate")),
        "cta_label": norm(attr("cta_label")), "cta_url": norm(attr("cta_url")), "end_mark": norm(attr("end_mark")),
        "notes": norm(attr("notes", [])), "body": body,
        "body_blocks": no_blocks if found is None else [kind for kind, _ in found],
        "lists": no_blocks if found is None else [value for kind, value in found if kind in ("ul", "ol")],
    }


def _starts(text: str | None, start: str | None) -> tuple[bool, Any]:
    if start is None or text in (None, MISSING):
        return text == start, text
    return text.startswith(start), text[: len(start) + 20]


def _ends(text: str | None, end: str) -> tuple[bool, Any]:
    return text.endswith(end), text[-(len(end) + 20):]


def misses(expected: dict[str, Any], draft: Any, *, blocks: Blocks | None,
           tolerant: bool = False) -> dict[str, tuple[Any, Any]]:
    """{field: (expected, got)} for every field of `expected` the draft does not match."""
    got = observed(draft, blocks=blocks, tolerant=tolerant)
    wrong: dict[str, tuple[Any, Any]] = {}
    for field in FIELDS:
        want = expected[field]
        if field == "boilerplate_starts":
            ok, found = _starts(got["boilerplate"], norm(want))
        elif field == "body_starts":
            ok, found = _starts(got["body"], norm(want))
        elif field == "body_ends":
            ok, found = _ends(got["body"], norm(want))
        elif field == "embargo_until":
            want = _instant(dt.datetime.fromisoformat(want)) if want else None
            ok, found = got[field] == want, got[field]
        elif field == "release_date":
            want = _day(want)
            ok, found = got[field] == want, got[field]
        elif field == "contacts":
            want = [norm({key: c.get(key) for key in CONTACT_KEYS}) for c in want]
            ok, found = got[field] == want, got[field]
        else:
            want = norm(want)
            ok, found = got[field] == want, got[field]
        if not ok:
            wrong[field] = (want, found)
    return wrong


def error_miss(expected_error: dict[str, Any], exc: BaseException | None) -> str | None:
    """Why a refusal is not the expected one, or None when it is."""
    line, contains = expected_error["line"], expected_error["contains"]
    want = f"a ReleaseError on line {line} whose reason contains {contains!r}"
    if exc is None:
        return f"expected {want}, but the file was read"
    if not isinstance(exc, ReleaseError):
        return f"expected {want}, got {type(exc).__name__}: {exc}"
    if exc.line != line or contains.lower() not in exc.reason.lower():
        return f"expected {want}, got line {exc.line}: {exc.reason}"
    return None


def describe(name: str, wrong: dict[str, tuple[Any, Any]]) -> str:
    return "\n".join(f"{name}: {field}: expected {want!r}, got {found!r}" for field, (want, found) in wrong.items())


def score(read: Callable[[Path], Any], *, blocks: Blocks | None = None,
          tolerant: bool = True) -> tuple[int, int, dict[str, list[str]]]:
    """(right, total, {field: ["file: expected …, got …", …]}): one point per expected field of
    each release, one per expected refusal. A release the reader refuses scores none of its fields."""
    blocks = blocks or getattr(content, "blocks", None)
    right = total = 0
    per_field: dict[str, list[str]] = defaultdict(list)
    for path in releases():
        expected = expected_for(path)
        try:
            draft, exc = read(path), None
        except Exception as error:  # a crash scores like a refusal, and says what it was
            draft, exc = None, error
        if "error" in expected:
            total += 1
            problem = error_miss(expected["error"], exc)
            if problem is None:
                right += 1
            else:
                per_field["error"].append(f"{path.name}: {problem}")
            continue
        total += len(FIELDS)
        if draft is None:
            for field in FIELDS:
                per_field[field].append(f"{path.name}: refused: {exc}")
            continue
        wrong = misses(expected, draft, blocks=blocks, tolerant=tolerant)
        right += len(FIELDS) - len(wrong)
        for field, (want, found) in wrong.items():
            per_field[field].append(f"{path.name}: expected {want!r}, got {found!r}")
    return right, total, dict(per_field)


def main(argv: list[str]) -> int:
    right, total, per_field = score(lambda path: read_release(path, zone=UTC))
    verbose = "-v" in argv
    for field in (*FIELDS, "error"):
        for line in per_field.get(field, []) if verbose else []:
            print(f"  {field}: {line}")
    print("misses by field: " + ", ".join(f"{f} {len(per_field[f])}" for f in (*FIELDS, "error") if per_field.get(f)))
    print(f"{len(releases())} files: {right}/{total} fields right ({100 * right / total:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
