"""After the head of a release: its body blocks sorted from the trailer — the end mark (###, -30-,
ENDS …), notes to editors, the release's own "About …" section, media contacts (blocks, lines
and sentences) and the call-to-action line — wherever the trailer's parts stand after the body.
A Markdown release's text after its end mark is read here too."""

from __future__ import annotations

import re
from typing import Any

from distribute.releases import lines as L
from distribute.releases.blocks import Block, contact_cue, joined, note_items, unwrapped, without_page_marks
from distribute.releases.contacts import has_contact_details, parse_contacts
from distribute.releases.conventions import CONTACT_SENTENCE
from distribute.releases.draft import ReleaseDraft, ReleaseError


class Trailer:
    """Sorts blocks into the body and the trailer, recording the trailer's parts in the draft."""

    def __init__(self, draft: ReleaseDraft, source: str, contact_blocks: list[list[str]] | None = None):
        self.draft, self.source = draft, source
        self.contact_blocks: list[list[str]] = contact_blocks if contact_blocks is not None else []
        self.contact_sentences: list[str] = []

    def calls_to_action(self, blocks: list[Block]) -> list[Block]:
        """Take out the call-to-action lines ("Take action: … – https://…"), wherever they are."""
        kept: list[Block] = []
        for block in blocks:
            rest: Block = []
            for line in block:
                if found := L.call_to_action(line.text):
                    if self.draft.cta_url and found[1] != self.draft.cta_url:
                        raise ReleaseError(self.source, line.number,
                                           f"a second call to action: the release has one already ({self.draft.cta_url})")
                    self.draft.cta_label, self.draft.cta_url = found
                else:
                    rest.append(line)
            if rest:
                kept.append(rest)
        return kept

    def sections(self, blocks: list[Block], *, after_end: bool = False) -> tuple[list[Block], list[str], str | None]:
        """Sort the blocks after the head: (body blocks, notes to editors, boilerplate); the end
        mark, the boilerplate heading and the contacts are recorded on the way."""
        blocks = [piece for block in _split_at_sections(without_page_marks(blocks)) for piece in
                  (unwrapped(block) if L.end_mark(block[0].text) is None else [block])]
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
                self._about(about, block, boilerplate)
                section = "about"
                continue
            cue = contact_cue(block)
            if cue is None and (after_end or section != "body") and _weak_cue_above_contact(blocks, index):
                cue = L.contact_cue(first)
            if cue is not None and (after_end or section != "body" or len(joined(block)) < 300):
                self.contact_blocks.append(([cue] if cue else []) + [line.text for line in block[1:]])
                section = "contact"
                continue
            if section == "contact" and _contactish(block):
                self.contact_blocks.append([line.text for line in block])
                continue
            if section == "contact":
                section = "after" if after_end else "body"
            self._other(block, section, body, notes, boilerplate, after_end=after_end)
        return body, note_items(notes), "\n\n".join(boilerplate) or None

    def _about(self, about: tuple[str, str], block: Block, boilerplate: list[str]) -> None:
        heading, inline = about
        if self.draft.boilerplate_heading is None and not boilerplate:
            self.draft.boilerplate_heading = heading
        else:
            boilerplate.append(heading)
        text = " ".join(([inline] if inline else []) + [line.text for line in block[1:]])
        if text:
            boilerplate.append(" ".join(text.split()))

    def _other(self, block: Block, section: str, body: list[Block], notes: list[Block], boilerplate: list[str],
               *, after_end: bool) -> None:
        """A block that opens no section: a contact sentence, or more of the section it is in."""
        if section in ("body", "after") and (body or after_end) and _contact_sentence(block):
            self.contact_sentences.append(joined(block))
        elif section == "body":
            body.append(block)
        elif _contact_block(block):
            # A contact written without a cue, after the end mark, the boilerplate or the notes.
            self.contact_blocks.append([line.text for line in block])
        elif section == "notes":
            notes.append(block)
        else:
            boilerplate.append(joined(block))

    def contacts(self) -> list[dict[str, Any]]:
        contacts = parse_contacts(self.contact_blocks)
        for sentence in self.contact_sentences:
            contacts += parse_contacts([[sentence]], sentence=True)
        return _unique(contacts)


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


def _weak_cue_above_contact(blocks: list[Block], index: int) -> bool:
    """Quebec's "Source : Organisation" in a block of its own, right above the contact's block."""
    first = blocks[index][0].text
    return (len(blocks[index]) == 1 and L.weak_contact_cue(first) and index + 1 < len(blocks)
            and has_contact_details(joined(blocks[index + 1])))


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
    words = [re.sub(r"^[dl]['’]", "", w, flags=re.I) for w in heading.split()[1:]]  # "de l'Observatoire"
    return len(heading) <= 80 and "," not in heading and any(
        w and (w[0].isupper() or "\u0600" <= w[0] <= "\u06ff") for w in words)


def _contactish(block: Block) -> bool:
    """Lines that read as a contact: short, with a phone or an address, or a few short name lines."""
    if all(len(line.text) <= 150 for line in block) and has_contact_details(joined(block)):
        return True
    return len(block) <= 3 and all(len(l.text) <= 80 and not l.text.endswith((".", "!", "?")) for l in block)


def _contact_block(block: Block) -> bool:
    """Lines that are only a contact: a name and a phone or an address on short lines, no list."""
    return (len(block) >= 2 and all(len(l.text) <= 100 and L.list_item(l.text) is None for l in block)
            and has_contact_details(joined(block)) and not any(l.text.endswith(".") for l in block))


def _contact_sentence(block: Block) -> bool:
    text = joined(block)
    return len(text) <= 400 and has_contact_details(text) and bool(CONTACT_SENTENCE.search(text))


def _unique(contacts: list[dict]) -> list[dict]:
    seen, out = set(), []
    for contact in contacts:
        key = (contact["name"], contact["email"], tuple(contact["phones"]))
        if key not in seen:
            seen.add(key)
            out.append(contact)
    return out
