"""A plain-text release as blocks of lines (paragraphs as pasted, each line numbered as in the
file), and the body's structure: paragraphs, bulleted and numbered lists, notes to editors.
The head and the trailer of a release are read in distribute.releases.head and release_trailer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from distribute.releases import lines as L
from distribute.releases.contacts import has_contact_details

# A line longer than this was not wrapped by hand: in a block with such a line (a Word or Outlook
# paste with single line breaks), each line is a paragraph of its own, unless one line runs on
# into the next, which only a hand-wrapped paragraph does.
UNWRAPPED = 100


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


def without_page_marks(blocks: list[Block]) -> list[Block]:
    """The blocks without the page marks of a printed release ("- more -", "- 2 -"). A page
    ends between paragraphs (a paragraph is not broken across pages), so a mark ends its block."""
    out: list[Block] = []
    for block in blocks:
        current: Block = []
        for line in block:
            if L.page_mark(line.text):
                if current:
                    out.append(current)
                current = []
            else:
                current.append(line)
        if current:
            out.append(current)
    return out


def joined(block: Block) -> str:
    return " ".join(" ".join(line.text.split()) for line in block)


# "WHAT: Rally", "WHEN: Tuesday …": a media advisory's lines, one fact each.
_FACT = re.compile(r"^[^\W\d_][^\W\d_ ]*(?: [^\W\d_]+){0,2}\s?:\s+\S")


# The end of a sentence, or of a lead-in to a list: a full stop, ?, !, :, … with any closing quotes.
_SENTENCE_END = re.compile(r"[.!?:…][\"'”’»)\]]*$")


def _runs_on(line: str, following: str) -> bool:
    """A line wrapped in mid-sentence: it ends with no full stop and the next line goes on
    with the sentence (a lower-case word) or it stops on a comma or a dash."""
    if _SENTENCE_END.search(line) or L.list_item(following):
        return False
    return line.endswith((",", "(", "-", "–", "—", "/")) or following[:1].islower()


def unwrapped(block: Block) -> list[Block]:
    """A block as paragraphs: one per line in a paste with one line per paragraph (or a media
    advisory's "WHAT: …" lines), else the block as it is."""
    if len(block) < 2:
        return [block]
    # "Source : …" above "Renseignements : …" is one contact, not a media advisory's facts.
    facts = L.contact_cue(block[0].text) is None and all(_FACT.match(line.text) for line in block)
    if facts or (
            max(len(line.text) for line in block) > UNWRAPPED
            and not any(_runs_on(a.text, b.text) for a, b in zip(block, block[1:]))):
        return [[line] for line in block]
    return [block]


def contact_cue(block: Block, index: int = 0) -> str | None:
    """The contact cue opening line `index` of a block; a weak one ("For more information:")
    only when a phone or an address follows it in the block."""
    cue = L.contact_cue(block[index].text)
    if cue is not None and L.weak_contact_cue(block[index].text):
        if not has_contact_details(" ".join(line.text for line in block[index:])):
            return None
    return cue


# --- the body's structure ------------------------------------------------------------------------

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
    a blank line between blocks (distribute.releases.content.blocks reads it back)."""
    parts = []
    for kind, value in blocks:
        if kind == "p":
            parts.append(value)
        elif kind == "ul":
            parts.append("\n".join(f"- {item}" for item in value))
        else:
            parts.append("\n".join(f"{n}. {item}" for n, item in enumerate(value, start=1)))
    return "\n\n".join(parts) + "\n"


def note_items(blocks: list[Block]) -> list[str]:
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
