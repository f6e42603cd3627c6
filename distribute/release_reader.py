"""Read a release file — plain text as comms staff paste it, or Markdown with front matter — into
a ReleaseDraft, the way a careful reader of the genre would.

A plain-text release is read in three zones:
- the head: header lines (labels such as PRESS RELEASE, "For immediate release", embargo lines,
  a date on its own line, a contact block) wherever they stand above the body, then the
  headline and the line under it (the subtitle);
- the body, opened by the dateline ("WASHINGTON, D.C. –", "Paris, le 5 décembre 2026 –"), its
  paragraphs and lists kept as written;
- the trailer: the end mark (###, -30-, ENDS …), notes to editors, the release's own "About …"
  section, media contacts, and the call-to-action line, wherever they stand after the body.
What a line is comes from distribute.release_lines; the words are data in release_conventions.

Nothing is stored unless the whole file is understood: a file that cannot be read raises
ReleaseError with its line and the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from distribute import release_lines as L
from distribute.errors import UserError
from distribute.language import detect
from distribute.release_contacts import has_contact_details, parse_contacts
from distribute.release_conventions import CONTACT_SENTENCE
from distribute.release_dates import DateError, parse_when

MAX_TITLE = 500
MAX_SUBTITLE = 500
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")
# A line longer than this was not wrapped by hand: in a block of such lines (a Word or Outlook
# paste with single line breaks), each line is a paragraph of its own.
UNWRAPPED = 100


class ReleaseError(UserError):
    def __init__(self, source: str, line: int | None, reason: str):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.line = line
        self.reason = reason


@dataclass
class ReleaseDraft:
    """What the reader understood. The field names are the Release columns (distribute.models)."""

    title: str
    body: str
    source_format: str  # markdown | text
    subtitle: str | None = None
    label: str | None = None
    dateline: str | None = None
    dateline_dash: str | None = None
    release_date: dt.date | None = None
    embargo_until: dt.datetime | None = None
    language: str = "en"
    contacts: list[dict[str, Any]] = field(default_factory=list)
    boilerplate_heading: str | None = None
    boilerplate: str | None = None
    cta_label: str | None = None
    cta_url: str | None = None
    end_mark: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Line:
    text: str
    number: int


Block = list[Line]


def blocks_of(text: str, first_line: int = 1) -> list[Block]:
    """Paragraphs: runs of non-blank lines, each line stripped and numbered as in the file."""
    blocks: list[Block] = []
    current: Block = []
    for number, raw in enumerate(text.split("\n"), start=first_line):
        line = raw.strip()
        if line:
            current.append(Line(line, number))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _joined(block: Block) -> str:
    return " ".join(" ".join(line.text.split()) for line in block)


# "WHAT: Rally", "WHEN: Tuesday …": a media advisory's lines, one fact each.
_FACT = re.compile(r"^[^\W\d_][^\W\d_ ]*(?: [^\W\d_]+){0,2}\s?:\s+\S")


def _unwrapped(block: Block) -> list[Block]:
    if len(block) > 1 and (max(len(line.text) for line in block) > UNWRAPPED
                           or all(_FACT.match(line.text) for line in block)):
        return [[line] for line in block]
    return [block]


def _title_like(line: Line, limit: int = 200, *, full_stop: bool = False) -> bool:
    """A headline: one short line, not a list item, not ending as a sentence does (a full stop
    is allowed when the dateline follows at once)."""
    text = line.text
    ends = (",", ";", ":") if full_stop else (".", ",", ";", ":")
    return len(text) <= limit and not text.endswith(ends) and L.list_item(text) is None


def _headline_with_dash(text: Block, more: bool) -> bool:
    """"Syria – Office destroyed in Aleppo" alone on its line, with more below: a headline,
    not a dateline (a dateline opens a paragraph of prose)."""
    if len(text) != 1 or not more:
        return False
    line = text[0].text
    hit = L.dateline(line)
    return hit is not None and len(line) <= 150 and not line.endswith(".") and bool(line[hit.end:].strip())


def _contact_cue(block: Block, index: int = 0) -> str | None:
    """The contact cue opening line `index` of a block; a weak one ("For more information:")
    only when a phone or an address follows it in the block."""
    cue = L.contact_cue(block[index].text)
    if cue is not None and L.weak_contact_cue(block[index].text):
        if not has_contact_details(" ".join(line.text for line in block[index:])):
            return None
    return cue


def _contact_lines(lines: Block, rest: str) -> int:
    """How many of the lines after a "Contact:" cue belong to the contact: up to the first line
    without a phone or an address once one was seen (the headline may follow without a blank)."""
    seen = has_contact_details(rest)
    for count, line in enumerate(lines):
        details = has_contact_details(line.text)
        if seen and not details:
            return count
        seen = seen or details
    return len(lines)


class TextReader:
    """One plain-text release; `read()` returns its draft or raises ReleaseError."""

    def __init__(self, text: str, source: str, zone: ZoneInfo, title: str | None):
        self.blocks = blocks_of(text)
        self.source, self.zone, self.given_title = source, zone, title
        self.draft = ReleaseDraft(title="", body="", source_format="text", language="")
        self.embargo: tuple[str, int] | None = None
        self.contact_blocks: list[list[str]] = []
        self.contact_sentences: list[str] = []
        self.title_line: Line | None = None
        self.header_after_title = False

    def error(self, line: int | None, reason: str):
        raise ReleaseError(self.source, line, reason)

    def read(self) -> ReleaseDraft:
        if not self.blocks:
            self.error(1, "the file is empty")
        rest = self._head()
        if not rest:
            last = self.blocks[-1][-1].number
            self.error(last, "the release has a title but no body" if self.title_line else "the file has a header but no body")
        self._rest(rest)
        draft = self.draft
        draft.title = self.given_title or (self.title_line.text if self.title_line else "")
        if not draft.title:
            self.error(rest[0][0].number, "the release has no title line before its first paragraph: pass --title \"…\"")
        if len(draft.title) > MAX_TITLE:
            self.error(self.title_line.number if self.title_line else None,
                       f"the title is {len(draft.title)} characters long; the limit is {MAX_TITLE}")
        if self.embargo:
            when, number = self.embargo
            try:
                draft.embargo_until = parse_when(when, self.zone, default_year=draft.release_date and draft.release_date.year)
            except ValueError as exc:
                self.error(number, f"embargo line: {exc}")
        draft.contacts = self.contacts()
        return draft

    # --- the head ----------------------------------------------------------------------------

    def _take_header(self, header: L.Header, line: Line, following: Line | None) -> bool:
        """Record a header line; True when it used the following line (an embargo's time)."""
        draft = self.draft
        used = False
        if header.kind == "embargo":
            when = header.when
            if not when and following is not None:
                when, used = following.text, True
            if not when:
                self.error(line.number, "the embargo line gives no time: write it as EMBARGOED UNTIL 00:01 GMT, 8 December 2026")
            if self.embargo is None:
                self.embargo = (when, line.number)
        if self.title_line and header.kind in ("label", "immediate", "embargo"):
            self.header_after_title = True
        draft.label = draft.label or header.label
        if header.date and draft.release_date is None:
            try:
                draft.release_date = header.date.date(weekday=False)
            except DateError as exc:
                self.error(line.number, str(exc))
        if header.place and draft.dateline is None:
            draft.dateline = header.place
        return used

    def _take_next_line(self, index: int) -> None:
        """The first line of block index + 1 was used by block index: take it out."""
        self.blocks[index + 1] = self.blocks[index + 1][1:]
        if not self.blocks[index + 1]:
            del self.blocks[index + 1]

    def _strip_head(self, index: int) -> Block:
        """The lines of block `index` that are not header lines (each recorded on the way)."""
        block = self.blocks[index]
        nxt = self.blocks[index + 1] if index + 1 < len(self.blocks) else []
        text: Block = []
        j = 0
        while j < len(block):
            line = block[j]
            cue = _contact_cue(block, j) if not text else None
            if cue is not None:
                taken = _contact_lines(block[j + 1:], cue)
                lines = ([cue] if cue else []) + [rest.text for rest in block[j + 1:j + 1 + taken]]
                if not lines and nxt and has_contact_details(_joined(nxt)):
                    lines = [rest.text for rest in nxt]
                    del self.blocks[index + 1]
                self.contact_blocks.append(lines)
                j += 1 + taken
                continue
            header = L.header(line.text)
            if header is None:
                text.append(line)
            elif self._take_header(header, line, block[j + 1] if j + 1 < len(block) else (nxt[0] if nxt else None)):
                if j + 1 < len(block):
                    j += 1
                else:
                    self._take_next_line(index)
            j += 1
        return text

    def _starts_body_next(self, index: int) -> bool:
        """Whether the first text after block `index` opens with a dateline (a look, no change)."""
        for block in self.blocks[index + 1:]:
            for line in block:
                if L.header(line.text) is None and L.contact_cue(line.text) is None:
                    return L.dateline(line.text) is not None
        return False

    def _head(self) -> list[Block]:
        """Consume the head; return the blocks from the body's first on."""
        subtitle: list[str] = []
        title_lines = 0
        index = 0
        while index < len(self.blocks):
            text = self._strip_head(index)
            index += 1
            after = self.blocks[index:]
            if not text:
                continue
            opens = next((k for k, line in enumerate(text) if L.dateline(line.text)), None)
            if opens == 0 and not self.title_line and _headline_with_dash(text, bool(after)):
                opens = None
            heading, body = (text, None) if opens is None else (text[:opens], [text[opens:]])
            if (not self.title_line and opens is None and len(text) <= 6 and all(len(l.text) <= 100 for l in text)
                    and has_contact_details(_joined(text))):
                self.contact_blocks.append([l.text for l in text])  # a contact block above the headline
                continue
            if not heading:
                self._set_subtitle(subtitle)
                return body + after
            first = heading[0]
            # An organisation's name above the label ("EXAMPLE COALITION / PRESS RELEASE /
            # Headline") is a letterhead: the headline is the line after the label.
            letterhead = (self.title_line is not None and self.header_after_title and not subtitle
                          and title_lines == 1 and len(self.title_line.text.split()) <= 6)
            dateline_next = bool(body) or self._starts_body_next(index - 1)
            if (not self.title_line or letterhead) and _title_like(first, full_stop=dateline_next) and (body or after):
                self.title_line, title_lines, self.header_after_title = first, len(heading), False
                extra = heading[1:]
                if extra and len(extra) <= 2 and all(len(l.text) <= 300 for l in extra):
                    subtitle = [l.text for l in extra]
                elif extra:
                    self._set_subtitle(subtitle)
                    return [extra] + (body or []) + after
            elif (self.title_line and not subtitle and title_lines == 1 and len(heading) == 1
                  and len(first.text) <= MAX_SUBTITLE and L.list_item(first.text) is None
                  and not first.text.endswith((",", ";", ":"))
                  and (not first.text.endswith(".") or dateline_next)):
                subtitle = [first.text]
            else:
                self._set_subtitle(subtitle)
                return [heading] + (body or []) + after
            if body:
                self._set_subtitle(subtitle)
                return body + after
        self._set_subtitle(subtitle)
        return []

    def _set_subtitle(self, lines: list[str]) -> None:
        if lines:
            self.draft.subtitle = " ".join(" ".join(lines).split())
            if len(self.draft.subtitle) > MAX_SUBTITLE:
                self.error(self.title_line.number + 1, f"the subtitle is {len(self.draft.subtitle)} characters long; "
                                                       f"the limit is {MAX_SUBTITLE}")

    # --- body and trailer --------------------------------------------------------------------

    def _rest(self, blocks: list[Block]) -> None:
        blocks = self._calls_to_action(blocks)
        body, notes, boilerplate = self.sections(blocks)
        if not body:
            self.error(blocks[0][0].number if blocks else None, "the release has no body paragraphs")
        self._dateline(body)
        self.draft.body = render_body(structure(body))
        self.draft.notes, self.draft.boilerplate = notes, boilerplate

    def sections(self, blocks: list[Block], *, after_end: bool = False) -> tuple[list[Block], list[str], str | None]:
        """Sort the blocks after the head: (body blocks, notes to editors, boilerplate); the end
        mark, the boilerplate heading and the contacts are recorded on the way."""
        blocks = [piece for block in _split_at_sections(blocks) for piece in
                  (_unwrapped(block) if L.end_mark(block[0].text) is None else [block])]
        body: list[Block] = []
        notes: list[Block] = []
        boilerplate: list[str] = []
        section = "after" if after_end else "body"
        for index, block in enumerate(blocks):
            first = block[0].text
            if len(block) == 1 and (mark := L.end_mark(first)):
                self.draft.end_mark = self.draft.end_mark or mark
                after_end, section = True, "after"
                continue
            if L.notes_heading(first, after_end=after_end):
                section = "notes"
                if block[1:]:
                    notes.append(block[1:])
                continue
            about = L.about_heading(first)
            if about and (after_end or section != "body" or (_names_something(about, block) and _few_after(blocks, index))):
                heading, inline = about
                if self.draft.boilerplate_heading is None and not boilerplate:
                    self.draft.boilerplate_heading = heading
                else:
                    boilerplate.append(heading)
                text = " ".join(([inline] if inline else []) + [line.text for line in block[1:]])
                if text:
                    boilerplate.append(" ".join(text.split()))
                section = "about"
                continue
            cue = _contact_cue(block)
            if cue is not None and (after_end or section != "body" or len(_joined(block)) < 300):
                self.contact_blocks.append(([cue] if cue else []) + [line.text for line in block[1:]])
                section = "contact"
                continue
            if section == "contact" and _contactish(block):
                self.contact_blocks.append([line.text for line in block])
                continue
            if section == "contact":
                section = "after" if after_end else "body"
            if section in ("body", "after") and (body or after_end) and _contact_sentence(block):
                self.contact_sentences.append(_joined(block))
            elif section == "body":
                body.append(block)
            elif section != "body" and _contact_block(block):
                # A contact written without a cue, after the end mark, the boilerplate or the notes.
                self.contact_blocks.append([line.text for line in block])
            elif section == "notes":
                notes.append(block)
            else:
                boilerplate.append(_joined(block))
        return body, _notes(notes), "\n\n".join(boilerplate) or None

    def contacts(self) -> list[dict[str, Any]]:
        contacts = parse_contacts(self.contact_blocks)
        for sentence in self.contact_sentences:
            contacts += parse_contacts([[sentence]], sentence=True)
        return _unique(contacts)

    def _calls_to_action(self, blocks: list[Block]) -> list[Block]:
        """Take out the call-to-action lines ("Take action: … – https://…"), wherever they are."""
        kept: list[Block] = []
        for block in blocks:
            rest: Block = []
            for line in block:
                if found := L.call_to_action(line.text):
                    if self.draft.cta_url and found[1] != self.draft.cta_url:
                        self.error(line.number, f"a second call to action: the release has one already ({self.draft.cta_url})")
                    self.draft.cta_label, self.draft.cta_url = found
                else:
                    rest.append(line)
            if rest:
                kept.append(rest)
        return kept

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


def _split_at_sections(blocks: list[Block]) -> list[Block]:
    """A block cut before each line that opens a section (an end mark, "Notes to editors",
    "Media contact:", "About …" alone), so a heading pasted without a blank line still counts."""
    out: list[Block] = []
    for block in blocks:
        current: Block = []
        for line in block:
            opens = (L.end_mark(line.text) or L.notes_heading(line.text, after_end=False)
                     or (L.contact_cue(line.text) is not None and line.text.rstrip().endswith((":", "：")))
                     or (L.about_heading(line.text) and not L.about_heading(line.text)[1]))
            if opens and current:
                out.append(current)
                current = []
            current.append(line)
            if L.end_mark(line.text):
                out.append(current)
                current = []
        if current:
            out.append(current)
    return out


def _few_after(blocks: list[Block], index: int) -> bool:
    """An "About …" line before the end mark is the boilerplate heading only near the end: at
    most three paragraphs follow it before the end mark (or the end)."""
    count = 0
    for block in blocks[index + 1:]:
        if len(block) == 1 and L.end_mark(block[0].text):
            break
        if L.contact_cue(block[0].text) is None and not L.notes_heading(block[0].text, after_end=False):
            count += 1
    return count <= 3


def _names_something(about: tuple[str, str], block: Block) -> bool:
    """An "About …" line in the body is a heading when it stands alone, or names someone (a
    capitalised word: "Über das Bündnis Mietenstopp", not "About this time last year")."""
    heading, inline = about
    if len(block) == 1 and not inline:
        return True
    words = heading.split()[1:]
    return len(heading) <= 80 and "," not in heading and any(w[0].isupper() or "\u0600" <= w[0] <= "\u06ff" for w in words)


def _contactish(block: Block) -> bool:
    """Lines that read as a contact: short, with a phone or an address, or a few short name lines."""
    if all(len(line.text) <= 150 for line in block) and has_contact_details(_joined(block)):
        return True
    return len(block) <= 3 and all(len(l.text) <= 80 and not l.text.endswith((".", "!", "?")) for l in block)


def _contact_block(block: Block) -> bool:
    """Lines that are only a contact: a name and a phone or an address on short lines, no list."""
    return (len(block) >= 2 and all(len(l.text) <= 100 and L.list_item(l.text) is None for l in block)
            and has_contact_details(_joined(block)) and not any(l.text.endswith(".") for l in block))


def _contact_sentence(block: Block) -> bool:
    text = _joined(block)
    return len(text) <= 400 and has_contact_details(text) and bool(CONTACT_SENTENCE.search(text))


def _unique(contacts: list[dict]) -> list[dict]:
    seen, out = set(), []
    for contact in contacts:
        key = (contact["name"], contact["email"], tuple(contact["phones"]))
        if key not in seen:
            seen.add(key)
            out.append(contact)
    return out


# --- body structure ------------------------------------------------------------------------------

def structure(body: list[Block]) -> list[tuple[str, Any]]:
    """("p", text), ("ul", items), ("ol", items) from body blocks: list items kept as items, a
    lead-in line before them kept as its paragraph, items split by blank lines joined again."""
    out: list[tuple[str, Any]] = []
    for block in body:
        paragraph: list[str] = []
        in_list = False
        for line in block:
            text = " ".join(line.text.split())
            if item := L.list_item(text):
                if paragraph:
                    out.append(("p", " ".join(paragraph)))
                    paragraph = []
                kind, text = item
                if out and out[-1][0] == kind:
                    out[-1][1].append(text)
                else:
                    out.append((kind, [text]))
                in_list = True
            elif in_list:
                out[-1][1][-1] += " " + text  # an item wrapped onto the next line
            else:
                paragraph.append(text)
        if paragraph:
            out.append(("p", " ".join(paragraph)))
    return out


def render_body(blocks: list[tuple[str, Any]]) -> str:
    """The stored text body: paragraphs on one line each, list items as "- item" or "1. item",
    a blank line between blocks (distribute.content.blocks reads it back)."""
    parts = []
    for kind, value in blocks:
        if kind == "p":
            parts.append(value)
        elif kind == "ul":
            parts.append("\n".join(f"- {item}" for item in value))
        else:
            parts.append("\n".join(f"{n}. {item}" for n, item in enumerate(value, start=1)))
    return "\n\n".join(parts) + "\n"


def _notes(blocks: list[Block]) -> list[str]:
    """Notes to editors, in order, without their numbers: numbered or bulleted lines are items,
    and so is each paragraph written without them."""
    items: list[str] = []
    for block in blocks:
        marked = False
        for line in block:
            item = L.list_item(line.text)
            if item:
                items.append(item[1])
                marked = True
            elif items and (marked or line is not block[0]):
                items[-1] += " " + line.text
            else:
                items.append(line.text)
    return [" ".join(item.split()) for item in items]


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


def read_release(path: Path, *, zone: ZoneInfo, title: str | None = None, fmt: str = "auto",
                 language: str | None = None) -> ReleaseDraft:
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
    text = text.translate(_LINE_ENDS).translate(_INVISIBLE)
    if title is not None:
        title = " ".join(title.split())
        if not title:
            raise ReleaseError(source, None, "--title is empty")
    if language is not None:
        language = language.strip().lower().replace("_", "-")
        if not LANGUAGE_TAG.fullmatch(language):
            raise ReleaseError(source, None, f"--language {language!r} is not a language tag such as en, fr or pt-br")
    if fmt == "auto":
        fmt = "markdown" if path.suffix.lower() in (".md", ".markdown") or text.startswith("---") else "text"
    if fmt == "markdown":
        from distribute.release_markdown import parse_markdown  # it builds on this module's pieces

        draft = parse_markdown(text, source, zone, title)
    else:
        draft = parse_text(text, source, zone, title)
    if language:
        draft.language = language
    elif not draft.language:
        draft.language = detect("\n".join(filter(None, (draft.title, draft.subtitle, draft.body, draft.boilerplate))))
    return draft
