"""What one line of a pasted release is: a header label, "For immediate release", an embargo, a
date, a dateline, an end mark, a section heading ("About …", "Notes to editors", "Media
contact:"), a call to action or a list item. Pure functions over strings; the words come from
distribution.release_conventions and the walk through a whole release is distribute.releases.reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from distribute.releases import conventions as C
from distribute.releases.dates import FoundDate, alternation, ascii_digits, date_only, find_date

_DECORATION = " \t*_=~\u00a0"


# A Markdown heading's marks ("## About the Trust"); not an end mark such as "# # #".
_HEADING_MARK = re.compile(r"^#{1,6}[ \t]+(?=[^#\s])")


def unmarked(line: str) -> str:
    """A line without the emphasis a paste brings (**PRESS RELEASE**) or a Markdown heading's marks."""
    return _HEADING_MARK.sub("", line.strip(_DECORATION)).strip(_DECORATION)


def clean(line: str) -> str:
    """A line without its emphasis or heading marks and without a final colon."""
    return unmarked(line).rstrip(":：").strip(_DECORATION)


def _whole(forms) -> re.Pattern[str]:
    return re.compile(rf"^(?:{alternation(forms)})$", re.I)


_LABEL = _whole(C.LABELS)
_IMMEDIATE = _whole(C.IMMEDIATE)
_EMBARGO = re.compile(rf"^(?P<cue>{alternation(C.EMBARGO_CUES)})(?![^\W\d_])\s*[:：]?\s*(?P<when>.*)$", re.I)
_CONTACT = re.compile(rf"^(?P<cue>{alternation(C.CONTACT_CUES)})\s*(?:[:：]\s*(?P<rest>.*)|$)", re.I)
_WEAK_CONTACT = _whole(C.WEAK_CONTACT_CUES)
_NOTES = _whole(C.NOTES_CUES)
_NOTES_AFTER_END = _whole(C.NOTES_AFTER_END)
# "About the …", and the French elision with no space after it: "À propos d'Air Pur Rhône".
_ABOUT = re.compile(rf"^(?:{alternation(C.ABOUT_CUES)})(?:\s+|(?<=['’]))(?=[^\d\s])\S", re.I)
_ABOUT_WHOLE = _whole(C.ABOUT_WHOLE)
_CTA = re.compile(rf"^(?P<cue>{alternation(C.CTA_CUES)})\s*[:：]\s*(?P<label>.*?)\s*(?P<url>https?://[^\s<>\"]+?)[).,;]?$", re.I)
_END_MARKS = {re.sub(r"[\s\-–—_]", "", C.fold(m)) for m in C.END_MARKS}
_LIST_ITEM = re.compile(
    r"^(?:(?P<bullet>[•●▪■◦‣·○\uf0a7\uf0b7\-–*])|(?P<number>\d{1,2})[.)]|o(?=\t))[\s\u00a0]+(?P<text>\S.*)$")
# Separators between the parts of one header line: "PRESS RELEASE | 5 December 2026".
_HEADER_PARTS = re.compile(r"\s+(?:\||–|—|-{1,2}|·|•)\s+|\s*\|\s*|\t+|\s{3,}|:\s+")


@dataclass
class Header:
    kind: str  # immediate | label | date | embargo
    text: str  # as written
    label: str | None = None
    date: FoundDate | None = None
    place: str | None = None
    when: str | None = None  # an embargo's time, as written


def header(line: str) -> Header | None:
    """A line of the header zone (above the headline or between it and the body), or None."""
    text = clean(line)
    if not text:
        return None
    if (m := _EMBARGO.match(text)) and not _IMMEDIATE.match(text) and _is_embargo(text, m):
        when = m.group("when").strip()
        while again := _EMBARGO.match(when):  # "EMBARGOED: NOT FOR PUBLICATION UNTIL …"
            when = again.group("when").strip()
        return Header("embargo", text, when=when)
    if date := date_only(text):
        return Header("date", text, date=date)
    if placed := place_date(text):
        return Header("date", text, date=placed[1], place=placed[0])
    parts = [p for p in _HEADER_PARTS.split(text) if p.strip(_DECORATION)]
    found: list[Header] = []
    for part in parts if len(parts) > 1 else [text]:
        part = clean(part)
        if _IMMEDIATE.match(part):
            found.append(Header("immediate", part))
        elif _LABEL.match(part):
            found.append(Header("label", part, label=part))
        elif date := date_only(part):
            found.append(Header("date", part, date=date))
        elif placed := place_date(part):
            found.append(Header("date", part, date=placed[1], place=placed[0]))
        else:
            return None
    if len(parts) > 1 and not found:
        return None
    merged = Header(found[0].kind, text)
    for part in found:
        merged.label = merged.label or part.label
        merged.date = merged.date or part.date
        merged.place = merged.place or part.place
        if part.kind == "label":
            merged.kind = "label"
    return merged


_BARE_EMBARGO = {C.fold(c) for c in ("embargo", "embargoed", "sous embargo", "for release", "sperrfrist", "nicht vor")}


def _is_embargo(text: str, m: re.Match) -> bool:
    """"EMBARGO: …", "Embargoed until …", "EMBARGO 8 December 2026 …" are embargo lines; a
    headline such as "Embargo on arms sales must stay" is not."""
    if C.fold(m.group("cue")) not in _BARE_EMBARGO:
        return True
    when = m.group("when")
    after_cue = text[m.end("cue"):]
    return (not when or after_cue.lstrip().startswith((":", "：")) or when[:1].isdigit()
            or find_date(when, at_start=True, allow_no_year=True) is not None)


def contact_cue(line: str) -> str | None:
    """The rest of a "Media contact: …" line ("" when the contact follows on the next lines)."""
    m = _CONTACT.match(clean(line) if line.rstrip().endswith((":", "：")) else unmarked(line))
    return None if m is None else (m.group("rest") or "").strip()


def weak_contact_cue(line: str) -> bool:
    """"For more information:" and its kin: a contact cue only above a phone or an address."""
    m = _CONTACT.match(clean(line) if line.rstrip().endswith((":", "：")) else unmarked(line))
    return m is not None and bool(_WEAK_CONTACT.match(m.group("cue")))


def notes_heading(line: str, *, after_end: bool) -> bool:
    text = clean(line)
    return bool(_NOTES.match(text) or (after_end and _NOTES_AFTER_END.match(text)))


def about_heading(line: str) -> tuple[str, str] | None:
    """("About the Task Force", text after it on the same line) for a boilerplate heading."""
    text = unmarked(line)
    if _ABOUT_WHOLE.match(clean(text)):
        return clean(text), ""
    if not _ABOUT.match(text):
        return None
    head, colon, rest = text.partition(":")
    if colon and len(head) <= 120 and rest.strip():
        return head.strip(), rest.strip()
    head = clean(text)
    if len(head) > 150 or head.endswith((".", ",", ";")):
        return None
    return head, ""


def end_mark(line: str) -> str | None:
    text = line.strip(_DECORATION.replace("*", "")).strip()
    compact = re.sub(r"[\s\-–—_()\[\]]", "", C.fold(text))
    if compact == "30" and "-" not in text and "–" not in text:
        return None
    if compact in _END_MARKS or (compact.strip("*") in _END_MARKS and compact.strip("*")):
        return text
    return None


_PAGE_MARKS = {re.sub(r"\s", "", C.fold(m)) for m in C.PAGE_MARKS}
_PAGE_NUMBER = re.compile(
    rf"^(?:(?:{alternation(C.PAGE_WORDS)})\s*\d{{1,2}}(?:\s*(?:/|of|de|von|sur|من)\s*\d{{1,2}})?"
    r"|[-–—/]\s*\d{1,2}(?:\s*/\s*\d{1,2})?\s*[-–—]?|\d{1,2}\s*/\s*\d{1,2})$", re.I)


def page_mark(line: str) -> bool:
    """A printed release's page mark ("- more -", "(MORE)", "- 2 -", "/2", "Page 2 of 3"): not text."""
    text = line.strip(_DECORATION).strip()
    if not text or end_mark(text):
        return False
    words = re.sub(r"^[\s\-–—(\[.…]+|[\s\-–—)\].…]+$", "", C.fold(text))
    return re.sub(r"\s", "", words) in _PAGE_MARKS or bool(_PAGE_NUMBER.match(ascii_digits(text)))


def call_to_action(line: str) -> tuple[str, str] | None:
    """(label, url) from "Take action: Ask your representative – https://…"."""
    m = _CTA.match(line.strip(_DECORATION))
    if not m:
        return None
    label = m.group("label").strip().rstrip("-–—:|→>").strip() or m.group("cue")
    return label, m.group("url")


def list_item(line: str) -> tuple[str, str] | None:
    """("ul" | "ol", item text) for a line written as a list item."""
    m = _LIST_ITEM.match(line.strip(" \u00a0"))
    if not m:
        return None
    return ("ol" if m.group("number") else "ul"), m.group("text").strip()


# --- datelines ---------------------------------------------------------------------------------

_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĢĪĮİĶĹĻĽŁŃŅŇŌŐŒŔŘŚŞŠŢŤŪŮŰŲŹŻŽ"
_CAP_WORD = rf"[{_UPPER}][\w.'’-]*(?:/[{_UPPER}][\w.'’-]*)*"  # "GENEVA/NEW YORK": two places
_PLACE_WORD = rf"(?:{_CAP_WORD}|of|de|la|le|el|al|am|an|der|du|des|del|di|da|do|dos|on|upon|sur|en|y)"
# Words that open sentences, not place names.
_NOT_PLACE = (r"(?!(?:On|In|At|The|A|An|This|That|Today|Yesterday|Tomorrow|We|Our|It|As|For|But|And|"
              r"Le|Les|Un|Une|Il|Elle|Nous|Ce|Cette|Aujourd|Hier|Ayer|Hoy|Heute|Gestern|Wir|Am|Im|Der|Die|Das)\b)")
# "5 de diciembre de 2026.–": the full stop closes the date, the dash after it is the dash.
_DASH = r"(?:\.\s?)?(?P<dash>--|–|—|―|-)"
# Arabic letters with their vowel marks, shadda and superscript alef ("عمّان", "غزّة").
_ARABIC_WORD = r"[\u0621-\u064a\u0671-\u06d3][\u0621-\u065f\u0670-\u06d3]*"


def _place_pattern(regions: int) -> re.Pattern[str]:
    region = rf"(?:\s*,\s*{_CAP_WORD}(?:\s{_CAP_WORD}){{0,2}})"
    return re.compile(rf"^{_NOT_PLACE}(?P<place>{_CAP_WORD}(?:[\s\u00a0]{_PLACE_WORD}){{0,4}}{region}{{{regions}}})")


_PLACES = [_place_pattern(n) for n in (2, 1, 0)]
_ARABIC_PLACES = [re.compile(rf"^(?P<place>{_ARABIC_WORD}(?:\s{_ARABIC_WORD}){{{n}}})") for n in (2, 1, 0)]


@dataclass
class Dateline:
    place: str | None
    date: FoundDate | None
    dash: str | None
    end: int  # where the text after the dateline starts


def _after_place(text: str, place: str, position: int, *, dash_required: bool) -> Dateline | None:
    date = None
    if m := re.match(r"\s*\((?P<inner>[^)\n]{1,60})\)", text[position:]):
        # AP's date in brackets, or the province, state or country: "Montréal (Québec), le 9 …".
        date = date_only(m.group("inner"))
        if date is None:
            place = f"{place} ({m.group('inner')})"
        position += m.end()
    if date is None and (m := re.match(r"\s*(?:[,،]\s*|\s+)", text[position:])):
        found = find_date(text[position + m.end():], at_start=True)
        if found:
            date = found
            position += m.end() + found.end
    if m := re.match(r"\s*/[^/\n]{2,40}/", text[position:]):  # a wire's tag: "Dec. 5, 2026 /PRNewswire/ --"
        position += m.end()
    m = re.match(rf"\s*{_DASH}(?:\s+|$)", text[position:])
    if m:
        return Dateline(place or None, date, m.group("dash"), position + m.end())
    if not dash_required and date and not text[position:].strip(" ."):
        return Dateline(place or None, date, None, len(text))
    return None


def dateline(text: str, *, dash_required: bool = True) -> Dateline | None:
    """The dateline opening a paragraph: "WASHINGTON, D.C. –", "GENEVA (Dec. 5, 2026) —",
    "Paris, le 5 décembre 2026 –", "بيروت، 5 كانون الأول 2026 –", or a date alone and a dash.
    Without dash_required, a place and a date alone on a line count too."""
    text = ascii_digits(text)
    if (found := find_date(text, at_start=True)) and (
            hit := _after_place(text[found.end:], "", 0, dash_required=dash_required)):
        return Dateline(None, found, hit.dash, found.end + hit.end)
    for pattern in (*_PLACES, *_ARABIC_PLACES):
        if m := pattern.match(text):
            place = m.group("place").strip()
            if hit := _after_place(text, place, m.end(), dash_required=dash_required):
                return hit
    return None


def place_date(line: str) -> tuple[str | None, FoundDate] | None:
    """A place and a date on a line of their own: "Paris, le 5 décembre 2026",
    "WASHINGTON, D.C. — December 5, 2026"."""
    text = clean(line).rstrip(".")
    hit = dateline(text, dash_required=False)
    if hit and hit.date and not text[hit.end:].strip():
        return hit.place, hit.date
    for pattern in _PLACES:  # "WASHINGTON — December 5, 2026": the dash between place and date
        if (m := pattern.match(text)) and (d := re.match(rf"\s*{_DASH}\s*", text[m.end():])):
            rest = text[m.end() + d.end():]
            if found := date_only(rest):
                return m.group("place").strip(), found
    return None
