"""Read a release file — plain text as comms staff paste it, or Markdown with front matter — into
a ReleaseDraft, the way a careful reader of the genre would.

A plain-text release is read in three zones:
- the head (distribute.releases.head): header lines (labels such as PRESS RELEASE, "For
  immediate release", embargo lines, a date on its own line, a contact block) wherever they
  stand above the body, then the headline and the line under it (the subtitle);
- the body, opened by the dateline ("WASHINGTON, D.C. –", "Paris, le 5 décembre 2026 –"), its
  paragraphs and lists kept as written (distribute.releases.blocks);
- the trailer (distribute.releases.trailer): the end mark (###, -30-, ENDS …), notes to editors,
  the release's own "About …" section, media contacts, and the call-to-action line, wherever
  they stand after the body.
What a line is comes from distribute.releases.lines; the words are data in release_conventions.

Nothing is stored unless the whole file is understood: a file that cannot be read raises
ReleaseError with its line and the reason.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from distribute.releases import lines as L
from distribute.releases.language import detect
from distribute.releases.blocks import Block, Line, blocks_of, render_body, structure
from distribute.releases.dates import DateError, parse_when
from distribute.releases.draft import LANGUAGE_TAG, MAX_SUBTITLE, MAX_TITLE, ReleaseDraft, ReleaseError
from distribute.releases.head import Head
from distribute.releases.markdown import parse_markdown
from distribute.releases.trailer import Trailer

__all__ = ["MAX_SUBTITLE", "MAX_TITLE", "LANGUAGE_TAG", "ReleaseDraft", "ReleaseError", "decode", "parse_text",
           "read_data", "read_file", "read_release"]


class TextReader:
    """One plain-text release; `read()` returns its draft or raises ReleaseError."""

    def __init__(self, text: str, source: str, zone: ZoneInfo, title: str | None):
        self.blocks = blocks_of(text)
        self.source, self.zone, self.given_title = source, zone, title
        self.draft = ReleaseDraft(title="", body="", source_format="text", language="")

    def error(self, line: int | None, reason: str):
        raise ReleaseError(self.source, line, reason)

    def read(self) -> ReleaseDraft:
        if not self.blocks:
            self.error(1, "the file is empty")
        head = Head(self.blocks, self.draft, self.source)
        rest = head.read()
        if not rest:
            last = self.blocks[-1][-1].number
            self.error(last, "the release has a title but no body" if head.title_line else "the file has a header but no body")
        trailer = Trailer(self.draft, self.source, head.contact_blocks)
        self._rest(rest, trailer)
        draft = self.draft
        draft.title = self.given_title or (head.title_line.text if head.title_line else "")
        if not draft.title:
            raise ReleaseError(self.source, rest[0][0].number,
                               "the release has no title line before its first paragraph: give its title", field="title")
        if len(draft.title) > MAX_TITLE:
            self.error(head.title_line.number if head.title_line else None,
                       f"the title is {len(draft.title)} characters long; the limit is {MAX_TITLE}")
        if head.embargo:
            when, number = head.embargo
            try:
                draft.embargo_until = parse_when(when, self.zone, default_year=draft.release_date and draft.release_date.year)
            except ValueError as exc:
                self.error(number, f"embargo line: {exc}")
        draft.contacts = trailer.contacts()
        return draft

    def _rest(self, blocks: list[Block], trailer: Trailer) -> None:
        blocks = trailer.calls_to_action(blocks)
        body, notes, boilerplate = trailer.sections(blocks)
        if not body:
            self.error(blocks[0][0].number if blocks else None, "the release has no body paragraphs")
        self._dateline(body)
        self.draft.body = render_body(structure(body))
        self.draft.notes, self.draft.boilerplate = notes, boilerplate

    def _dateline(self, body: list[Block]) -> None:
        first = body[0]
        hit = L.dateline(first[0].text)
        if hit is None:
            return
        draft = self.draft
        draft.dateline = hit.place or (draft.dateline if hit.date else None)
        draft.dateline_dash = hit.dash
        if hit.date and draft.release_date is None:
            try:
                draft.release_date = hit.date.date(weekday=False)
            except DateError as exc:
                self.error(first[0].number, str(exc))
        remaining = first[0].text[hit.end:].strip()
        body[0] = ([Line(remaining, first[0].number)] if remaining else []) + first[1:]
        if not body[0]:
            del body[0]
            if not body:
                self.error(first[0].number, "the release has a dateline but no body after it")


def parse_text(text: str, source: str, zone: ZoneInfo, title: str | None = None) -> ReleaseDraft:
    return TextReader(text, source, zone, title).read()


# --- reading a file ------------------------------------------------------------------------------

# Characters a Word or Outlook paste brings that are not text: soft hyphens, zero-width spaces and
# joiners, direction marks; line and paragraph separators are line ends.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"), None)
_LINE_ENDS = {ord(c): "\n" for c in "\u2028\u2029\v\f\x85"}


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


def read_file(path: Path) -> bytes:
    """A release file's bytes; a path that is not a file is a ReleaseError like any other."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ReleaseError(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise ReleaseError(str(path), None, "is a directory, not a release file") from None


def read_release(path: Path, *, zone: ZoneInfo, title: str | None = None, fmt: str = "auto",
                 language: str | None = None) -> ReleaseDraft:
    return read_data(read_file(path), str(path), zone=zone, title=title, fmt=fmt, language=language)


def read_data(data: bytes, source: str, *, zone: ZoneInfo, title: str | None = None, fmt: str = "auto",
              language: str | None = None) -> ReleaseDraft:
    """Read a release from its bytes (a file, an upload, typed text); `source` names it in errors
    and, by its suffix (.md), says it is Markdown when `fmt` is "auto"."""
    if not data.strip():
        raise ReleaseError(source, 1, "the file is empty")
    text = decode(data, source).replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_LINE_ENDS).translate(_INVISIBLE)
    if title is not None:
        title = " ".join(title.split())
        if not title:
            raise ReleaseError(source, None, "the title given is empty", field="title")
    if language is not None:
        language = language.strip().lower().replace("_", "-")
        if not LANGUAGE_TAG.fullmatch(language):
            raise ReleaseError(source, None, f"the language {language!r} is not a language tag such as en, fr or pt-br",
                               field="language")
    if fmt == "auto":
        fmt = "markdown" if source.lower().endswith((".md", ".markdown")) or text.startswith("---") else "text"
    if fmt == "markdown":
        draft = parse_markdown(text, source, zone, title)
    else:
        draft = parse_text(text, source, zone, title)
    if language:
        draft.language = language
    elif not draft.language:
        draft.language = detect("\n".join(filter(None, (draft.title, draft.subtitle, draft.body, draft.boilerplate))))
    return draft
