"""The head of a plain-text release: the header lines (labels such as PRESS RELEASE, "For
immediate release", embargo lines, a date on its own line, a contact block) wherever they stand
above the body, then the headline and the line right under it (the subtitle). The head ends
where the body starts: at the dateline, or at the first block that is not a headline."""

from __future__ import annotations

from distribute.releases import lines as L
from distribute.releases.blocks import Block, Line, contact_cue, joined
from distribute.releases.contacts import has_contact_details
from distribute.releases.dates import DateError
from distribute.releases.draft import MAX_SUBTITLE, ReleaseDraft, ReleaseError


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


def _contact_block_above(text: Block) -> bool:
    """A few short lines with a phone or an address above the headline: a contact block."""
    return len(text) <= 6 and all(len(line.text) <= 100 for line in text) and has_contact_details(joined(text))


class Head:
    """Reads the head of a release's blocks into the draft (label, date, place, embargo as
    written) and keeps what the rest of the reader needs: the title line and the contact blocks."""

    def __init__(self, blocks: list[Block], draft: ReleaseDraft, source: str):
        self.blocks, self.draft, self.source = blocks, draft, source
        self.embargo: tuple[str, int] | None = None  # (as written, line)
        self.contact_blocks: list[list[str]] = []
        self.title_line: Line | None = None
        self.title_lines = 0
        self.subtitle: list[str] = []
        self.header_after_title = False

    def error(self, line: int | None, reason: str):
        raise ReleaseError(self.source, line, reason)

    def read(self) -> list[Block]:
        """Consume the head; return the blocks from the body's first on."""
        index = 0
        while index < len(self.blocks):
            text = self._strip_head(index)
            index += 1
            if text and (rest := self._place(text, index)) is not None:
                self._set_subtitle()
                return rest
        self._set_subtitle()
        return []

    def _place(self, text: Block, index: int) -> list[Block] | None:
        """Take block text (the lines of block index - 1 that are not header lines) as the title,
        the subtitle or a contact block; or return the blocks from the body's first on."""
        after = self.blocks[index:]
        opens = next((k for k, line in enumerate(text) if L.dateline(line.text)), None)
        if opens == 0 and not self.title_line and _headline_with_dash(text, bool(after)):
            opens = None
        heading, body = (text, None) if opens is None else (text[:opens], [text[opens:]])
        if not self.title_line and opens is None and _contact_block_above(text):
            self.contact_blocks.append([line.text for line in text])
            return None
        if not heading:
            return body + after
        first = heading[0]
        # An organisation's name above the label ("EXAMPLE COALITION / PRESS RELEASE /
        # Headline") is a letterhead: the headline is the line after the label.
        letterhead = (self.title_line is not None and self.header_after_title and not self.subtitle
                      and self.title_lines == 1 and len(self.title_line.text.split()) <= 6)
        dateline_next = bool(body) or self._starts_body_next(index - 1)
        if (not self.title_line or letterhead) and _title_like(first, full_stop=dateline_next) and (body or after):
            self.title_line, self.title_lines, self.header_after_title = first, len(heading), False
            extra = heading[1:]
            if extra and len(extra) <= 2 and all(len(line.text) <= 300 for line in extra):
                self.subtitle = [line.text for line in extra]
            elif extra:
                return [extra] + (body or []) + after
        elif self._subtitle_like(heading, dateline_next):
            self.subtitle = [first.text]
        else:
            return [heading] + (body or []) + after
        return body + after if body else None

    def _subtitle_like(self, heading: Block, dateline_next: bool) -> bool:
        """One line right under a one-line headline, not a sentence (unless the dateline follows)."""
        text = heading[0].text
        return (self.title_line is not None and not self.subtitle and self.title_lines == 1 and len(heading) == 1
                and len(text) <= MAX_SUBTITLE and L.list_item(text) is None and not text.endswith((",", ";", ":"))
                and (not text.endswith(".") or dateline_next))

    def _set_subtitle(self) -> None:
        if self.subtitle:
            self.draft.subtitle = " ".join(" ".join(self.subtitle).split())
            if len(self.draft.subtitle) > MAX_SUBTITLE:
                self.error(self.title_line.number + 1, f"the subtitle is {len(self.draft.subtitle)} characters long; "
                                                       f"the limit is {MAX_SUBTITLE}")

    def _starts_body_next(self, index: int) -> bool:
        """Whether the first text after block `index` opens with a dateline (a look, no change)."""
        for block in self.blocks[index + 1:]:
            for line in block:
                if L.header(line.text) is None and L.contact_cue(line.text) is None:
                    return L.dateline(line.text) is not None
        return False

    # --- header lines ---------------------------------------------------------------------------

    def _strip_head(self, index: int) -> Block:
        """The lines of block `index` that are not header lines (each recorded on the way)."""
        block = self.blocks[index]
        nxt = self.blocks[index + 1] if index + 1 < len(self.blocks) else []
        text: Block = []
        j = 0
        while j < len(block):
            line = block[j]
            cue = contact_cue(block, j) if not text else None
            if cue is not None:
                taken = _contact_lines(block[j + 1:], cue)
                lines = ([cue] if cue else []) + [rest.text for rest in block[j + 1:j + 1 + taken]]
                if not lines and nxt and has_contact_details(joined(nxt)):
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
