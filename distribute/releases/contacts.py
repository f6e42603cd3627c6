"""Media contacts as releases write them: a block under "Media contact:", a line
"Contact: Jane Doe, (202) 555-0147, jane@example.org", or a sentence ("For interviews, contact
Priya Chandrasekar on 020 7946 0321 or priya.c@example.org").

Phones and addresses are found first (so "(202) 555-0147" is one phone, never a name ending in
"("); what is left is cut at the separators people use (commas, bars, dashes, parentheses, line
ends) and each piece is a name, a job title or an organisation by the words in it
(distribute.releases.conventions). A new name starts a new contact.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any

from distribute.releases import conventions as C
from distribute.releases.dates import ascii_digits, find_date

FIELDS = ("name", "title", "organisation", "email", "phones")

EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
# A run of digits with the separators phones are written with; checked by _phone after. Two
# spaces end it: they stand between two phones once a sentence's lines are joined.
_PHONE_RUN = re.compile(
    r"(?<![\w@/])(?:\+\s?|00)?\(?\d(?:[\d().\-\u2011]|[ \u00a0](?![ \u00a0])|/(?=\d))*\d\)?"
    r"(?:\s*(?:ext\.?|x|poste|durchwahl|dw\.?)\s*\d{1,5})?(?![\w@])",
    re.I,
)
_EXTENSION = re.compile(r"\s*(?:ext\.?|x|poste|durchwahl|dw\.?)\s*(\d{1,5})$", re.I)


def _words(forms) -> re.Pattern[str]:
    alternation = "|".join(re.escape(C.fold(f)) for f in sorted(set(forms), key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternation})(?![^\W_])")


_LABEL = re.compile(
    r"(?:(?<=^)|(?<=[\s|,;/(]))(?:" + "|".join(re.escape(w) for w in sorted(C.CONTACT_FIELD_LABELS, key=len, reverse=True))
    + r")\.?\s*[:：]\s*", re.I)
_PAREN_LABEL = re.compile(r"\(\s*(?:" + "|".join(re.escape(w) for w in C.CONTACT_FIELD_LABELS) + r")\.?\s*\)", re.I)
_TITLE = _words(C.TITLE_WORDS + ("deputy", "senior", "acting", "interim", "global", "regional", "national",
                                 "general", "adjoint", "adjointe", "adjunto", "adjunta", "stellvertretender",
                                 "stellvertretende"))
_TITLE_COMPOUND = re.compile(
    r"(?<![^\W_])[^\W\d_]{4,}(?:" + "|".join(re.escape(C.fold(e)) for e in C.TITLE_COMPOUND_ENDINGS) + r")(?![^\W_])")
# German gendered forms of a title: "Sprecher/in", "Referent*in", "Leiter:innen", "Berater(in)".
_GENDERED = re.compile(r"(?:[/*:_]-?|\()in(?:nen)?\)?$")
# A phone's note in brackets, "(London office)", "(cell)", "(after 6pm)": not a name or an organisation.
_PHONE_NOTE = re.compile(r"[ \t\u00a0]*\((?=[^()]*[^\W\d_])[^()@\n]{1,40}\)")
_ORGANISATION = _words(C.ORGANISATION_WORDS)
_DESK = _words(C.DESK_NAMES)
_CUES = {C.fold(c) for c in C.CONTACT_CUES}
_PARTICLES = {C.fold(p) for p in C.NAME_PARTICLES}
_SEPARATORS = re.compile(
    r"\s*(?:\||;|,|،|•|·|<|>|\[|\]|\t|\s{2,}|\s[–—-]\s|\s/\s|\(|\)|\x00|[:：](?=\s)|\s+(?:at|chez|bei)\s+(?=[A-Z]))\s*")
# Words around a contact in a sentence: "contact Priya … on …, or by email at …".
_CONNECTORS = {C.fold(w) for w in (
    "on", "at", "or", "and", "via", "by", "to", "please", "contact", "contacting", "call", "phone", "email",
    "e-mail", "write", "reach", "tel", "mobile", "ou", "au", "et", "par", "contactez", "contacter", "veuillez",
    "joindre", "o", "y", "al", "en", "con", "contactar", "contacte", "llame", "escriba", "unter", "oder", "und",
    "bei", "per", "an", "kontaktieren", "sie", "sich", "wenden", "erreichen", "bitte", "يرجى", "الاتصال", "ب",
    "على", "أو", "عبر", "و", "مع", "التواصل", "تواصل", "the", "interviews", "interview", "more", "information",
    "further", "for", "enquiries", "inquiries", "requests", "pour", "para", "für")}


def tel_link(phone: str) -> str:
    """A tel: URI (RFC 3966) from a phone as written: digits and a leading +, the "(0)" that
    British and German numbers write after the country code dropped, an extension kept."""
    phone = ascii_digits(phone)
    extension = _EXTENSION.search(phone)
    main = phone[: extension.start()] if extension else phone
    international = main.lstrip().startswith(("+", "00"))
    if international:
        main = re.sub(r"\(\s*0\s*\)", "", main)
    digits = re.sub(r"\D", "", main)
    if main.lstrip().startswith("00"):
        digits = digits[2:]
    uri = f"tel:{'+' if international else ''}{digits}"
    return uri + (f";ext={extension.group(1)}" if extension else "")


def _phone(candidate: str) -> str | None:
    """The phone in a run of digits, or None when it is a date, a year or too short."""
    text = candidate.strip(" .-")
    if text.startswith("(") and text.count("(") > text.count(")"):
        text = text[1:]
    if text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
    if text.count("(") > text.count(")"):  # "07700 900000 (24 hours)": the note's digits are not the phone's
        text = re.sub(r"\s*\(\s*\d{0,3}$", "", text)
    digits = re.sub(r"\D", "", _EXTENSION.sub("", ascii_digits(text)))
    if not 7 <= len(digits) <= 15 or find_date(text):
        return None
    return text.strip()


def find_phones(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _PHONE_RUN.finditer(ascii_digits(text)):
        if phone := _phone(text[match.start():match.end()]):
            start = text.index(phone, match.start())
            found.append((start, start + len(phone), phone))
    return found


def has_contact_details(text: str) -> bool:
    return bool(EMAIL.search(text) or find_phones(text))


def _new() -> dict[str, Any]:
    return {"name": None, "title": None, "organisation": None, "email": None, "phones": []}


def _kind(piece: str) -> str:
    folded = C.fold(piece)
    if _DESK.search(folded):
        return "name"
    if _TITLE.search(folded) or _TITLE_COMPOUND.search(folded):
        return "title"
    if _ORGANISATION.search(folded) or re.fullmatch(r"[A-Z][A-Z0-9&.-]{1,9}", piece):
        return "organisation"
    if _is_name(piece):
        return "name"
    return "organisation"


def _is_name(piece: str) -> bool:
    words = piece.split()
    if not 1 <= len(words) <= 5 or len(piece) > 60 or any(ch.isdigit() for ch in piece):
        return False
    if all("\u0600" <= w[0] <= "\u06ff" for w in words):
        return len(words) >= 2
    return all(w[0].isupper() or C.fold(w) in _PARTICLES or w.startswith(("al-", "el-", "d'", "d’"))
               for w in words) and words[0][0].isupper()


def _title_word(word: str) -> bool:
    folded = _GENDERED.sub("", C.fold(word).strip(".,"))
    return bool(_TITLE.fullmatch(folded) or _TITLE_COMPOUND.fullmatch(folded))


def _split_name_title(piece: str) -> tuple[str | None, str | None]:
    """A name and a job title written without a separator between them: "Evan Barrett Deputy
    Director" and "Deputy Director Evan Barrett" -> ("Evan Barrett", "Deputy Director")."""
    words = piece.split()
    titled = [i for i, w in enumerate(words) if _title_word(w)]
    if not titled:
        return (piece, None) if _is_name(piece) else (None, piece)
    first, last = titled[0], titled[-1]
    if first >= 2 and _is_name(" ".join(words[:first])):
        return " ".join(words[:first]), " ".join(words[first:])
    if len(words) - last - 1 >= 2 and _is_name(" ".join(words[last + 1:])):
        return " ".join(words[last + 1:]), " ".join(words[:last + 1])
    return None, piece


def _clean_piece(piece: str, sentence: bool) -> str:
    piece = piece.strip(" \t:：-–—*")
    if piece.endswith(".") and not re.search(r"(?:^|[\s.])[^\W\d_]{1,3}\.$", piece):
        piece = piece[:-1]  # a sentence's full stop, not "Inc." or "e.V."
    if not sentence:
        return piece
    words = piece.split()
    while words and C.fold(words[0]).strip(",.") in _CONNECTORS:
        words.pop(0)
    while words and C.fold(words[-1]).strip(",.") in _CONNECTORS:
        words.pop()
    return " ".join(words).strip(" :.")


def _tokens(line: str, sentence: bool) -> list[tuple[str, str]]:
    """("email"|"phone"|"text", value) in the order written."""
    line = _PAREN_LABEL.sub(" ", _LABEL.sub(" ", line))
    marks: list[tuple[int, int, str, str]] = [(m.start(), m.end(), "email", m.group(0)) for m in EMAIL.finditer(line)]
    masked = EMAIL.sub(lambda m: "\x00" * len(m.group(0)), line)
    for start, end, phone in find_phones(masked):
        note = _PHONE_NOTE.match(masked, end)
        marks.append((start, note.end() if note else end, "phone", phone))
    marks.sort()
    out: list[tuple[str, str]] = []
    position = 0
    for start, end, kind, value in marks + [(len(line), len(line), "", "")]:
        for piece in _SEPARATORS.split(line[position:start].replace("\x00", " ")):
            piece = _clean_piece(piece, sentence)
            if piece and _keep(piece, sentence):
                out.append(("text", piece))
        if kind:
            out.append((kind, value))
        position = max(position, end)
    return out


_FIELD_LABELS = {C.fold(w) for w in C.CONTACT_FIELD_LABELS}


def _keep(piece: str, sentence: bool) -> bool:
    """A piece that is a contact's name, title or organisation (not a cue, a label or the words
    of the sentence around the contact)."""
    folded = C.fold(piece)
    if _DESK.fullmatch(folded):
        return True
    if re.search(r"https?://|www\.", piece):
        return False  # a link is never a name, a title or an organisation
    if folded.rstrip(" :") in _CUES or folded in _FIELD_LABELS or folded.startswith(("for ", "pour ", "para ", "für ")):
        return False
    if sentence and not any(ch.isupper() or "\u0600" <= ch <= "\u06ff" for ch in piece):
        return False
    return any(ch.isalpha() for ch in piece)


def parse_contacts(blocks: list[list[str]], *, sentence: bool = False) -> list[dict[str, Any]]:
    """Contacts from blocks of lines (a blank line between blocks), in the order written."""
    contacts: list[dict[str, Any]] = []
    current = _new()

    def start() -> dict[str, Any]:
        nonlocal current
        if any(current[f] for f in FIELDS):
            contacts.append(current)
        current = _new()
        return current

    for block in blocks:
        if current["email"] or current["phones"]:
            start()
        for line in block:
            tokens = _tokens(line, sentence)
            # A line that names someone, after a contact that has a phone or an address, is the
            # next contact, whatever comes first on it ("Organisation B: Tom Weber, tom@…").
            if (current["email"] or current["phones"]) and any(
                    kind == "text" and _kind(value) == "name" for kind, value in tokens):
                start()
            for kind, value in tokens:
                if kind == "email":
                    if current["email"]:
                        start()
                    current["email"] = value
                elif kind == "phone":
                    current["phones"].append(value)
                else:
                    _place_text(value, current, start)
    start()
    return contacts


def _place_text(piece: str, current: dict[str, Any], start) -> None:
    kind = _kind(piece)
    name, title = (piece, None) if _DESK.search(C.fold(piece)) else (
        _split_name_title(piece) if kind in ("name", "title") else (None, None))
    if name:
        # A person's lines give the name first, then title and organisation, then how to reach
        # them: a name after those is the next contact; right after a name, it is the organisation.
        if current["email"] or current["phones"]:
            current = start()
        elif current["name"]:
            if title is None and current["organisation"] is None:
                current["organisation"] = name
                return
            current = start()
        current["name"], current["title"] = name, title
    elif kind == "title":
        current["title"] = f"{current['title']}, {title}" if current["title"] else title
    else:
        current["organisation"] = f"{current['organisation']}, {piece}" if current["organisation"] else piece


def from_front_matter(value: Any) -> dict[str, Any]:
    """One contact from the front matter: "Name <email>, +1 202 555 0100" or a mapping of
    name, title, organisation, email, phone/phones."""
    if isinstance(value, dict):
        known = set(FIELDS) | {"phone", "org", "organization"}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown contact field(s): {', '.join(sorted(map(str, unknown)))} "
                             "(use name, title, organisation, email, phone)")
        contact = _new()
        for key, raw in value.items():
            if raw in (None, ""):
                continue
            if key in ("phone", "phones"):
                contact["phones"] += [str(p).strip() for p in (raw if isinstance(raw, list) else [raw])]
            else:
                contact["organisation" if key in ("org", "organization") else key] = " ".join(str(raw).split())
    else:
        found = parse_contacts([[str(value)]])
        contact = found[0] if found else _new()
        for extra in found[1:]:  # "Name <email>" read as two pieces: keep them as one contact
            for key in FIELDS:
                contact[key] = contact[key] or extra[key]
    if contact["email"] and "@" not in parseaddr(contact["email"])[1]:
        raise ValueError(f"media contact email {contact['email']!r} is not an address")
    if not contact["email"] and not contact["phones"]:
        raise ValueError("a media contact needs an email address or a phone number")
    return contact
