"""What a header means, and how a row of fields becomes a contact: header recognition, value
cleaning (names, languages, tags, status and kind words) and the merge of rows for one address."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from distribute.contacts.addresses import InvalidAddress, normalise
from distribute.errors import UserError
from distribute.models import Contact, ContactTag


# Column sizes from the model: PostgreSQL refuses longer values, so a row is refused first.
FIELDS = ("name", "outlet", "beat", "region", "language", "place")
_LIMITS = {c: Contact.__table__.c[c].type.length for c in ("email", *FIELDS)}
TAG_LIMIT = ContactTag.__table__.c.tag.type.length

# Header names as tools and people write them; compared after _compact() (case, spaces and
# punctuation removed). German, French and Spanish spellings are there because such sheets exist.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e-mail", "email address", "e-mail address", "mail", "email addr", "mail address",
        "e-mail 1 - value", "email 1", "primary email", "work email", "business email",
        "e-mail-adresse", "courriel", "adresse e-mail", "adresse email", "correo",
        "correo electrónico", "correo electronico",
    ),
    "name": ("name", "full name", "display name", "contact name", "subscriber name", "nom complet"),
    "first_name": ("first name", "first", "fname", "given name", "forename", "vorname", "prénom", "nombre"),
    "last_name": ("last name", "last", "lname", "surname", "family name", "nachname", "nom", "apellido", "apellidos"),
    "outlet": (
        "outlet", "outlet name", "media outlet", "news outlet", "publication", "publication name",
        "company", "company name", "organisation", "organization", "organisation name",
        "organization name", "organization 1 - name", "newsroom", "media", "medium", "employer",
        "publisher", "firma", "média", "medio",
    ),
    "beat": ("beat", "beats", "topic", "topics", "coverage", "ressort", "rubrique"),
    "region": ("region", "regions", "area", "territory", "province", "state/province"),
    "language": ("language", "languages", "lang", "locale", "preferred language", "sprache", "langue", "idioma"),
    "place": ("place", "city", "town", "location", "city/town", "ort", "stadt", "ville", "ciudad"),
    "tags": ("tags", "tag", "labels", "label"),
    "status": ("status", "subscription status", "subscriber status", "email status", "member status"),
    "kind": ("kind", "contact kind"),
    "attributes": ("attributes", "attribs"),
}


def _compact(header: str) -> str:
    return re.sub(r"[\W_]+", "", header.casefold())


def _attribute_key(header: str) -> str:
    return re.sub(r"[\W_]+", "_", header.strip().casefold()).strip("_")


_ROLE_OF: dict[str, str] = {}
for _role, _names in _SYNONYMS.items():
    for _name in _names:
        assert _ROLE_OF.setdefault(_compact(_name), _role) == _role, _name

# Status words from Mailchimp, listmonk and friends. Anything else in a status column is kept as
# attribute "status": a sheet's "Status: freelance", but also Mailchimp's "pending" or
# "transactional" and listmonk's "unconfirmed", which a segment can then leave out.
_STATUS_OF = {
    **dict.fromkeys(("active", "subscribed", "enabled", "confirmed", "opted in", "optin"), "active"),
    **dict.fromkeys(("unsubscribed", "unsubscribe", "opted out", "optout", "opt out", "blocklisted", "blacklisted", "blocked"), "unsubscribed"),
    **dict.fromkeys(("bounced", "bounce", "cleaned", "hard bounce", "hardbounce", "invalid"), "bounced"),
    **dict.fromkeys(("complained", "complaint", "spam", "spam complaint", "abuse"), "complained"),
}
_KIND_OF = {"journalist": "journalist", "journalists": "journalist", "supporter": "supporter", "supporters": "supporter"}
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_TAG_SPLIT = re.compile(r"[;,|]")


# OWASP "CSV injection": a cell a spreadsheet would run as a formula starts with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_guard(value: str) -> bool:
    # Quotes already in front count too: "'=x" is written "''=x", so that taking one quote off
    # on import gives back exactly what was exported.
    return value.lstrip("'").startswith(_FORMULA_START)


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula: a value starting with = + - @ tab or CR
    gets a single quote before it. spreadsheet_value takes it off again."""
    return "'" + value if _needs_guard(value) else value


def spreadsheet_value(cell: str) -> str:
    """The value spreadsheet_safe made this cell from: its guard quote, and only that, taken off."""
    return cell[1:] if cell[:1] == "'" and _needs_guard(cell[1:]) else cell


def _cell(value: str) -> str:
    """A cell as its value: trimmed, and the quote our own export puts on taken off again."""
    return spreadsheet_value(value.strip())


def _one_line(value: str) -> str:
    """Inner whitespace (line breaks, NBSP) collapsed to single spaces, and trimmed."""
    return " ".join(value.split())


def _attribute_value(cell: str) -> str:
    return _cell(cell).replace("\r\n", "\n")


@lru_cache(maxsize=4096)
def _language(value: str) -> str:
    # Codes are made canonical so that segments can match them ("EN_gb" -> "en-GB");
    # a language written out ("English") is left as it is.
    if not _LANGUAGE_CODE.fullmatch(value):
        return value
    parts = re.split("[-_]", value)
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part.lower())
    return "-".join(out)


@lru_cache(maxsize=4096)
def normalise_tag(tag: str) -> str:
    """Tags are compared trimmed, lowercase, with inner whitespace collapsed."""
    return " ".join(tag.split()).lower()


def _split_tags(value: str) -> list[str]:
    value = value.strip()
    if not value:
        return []
    if '"' in value:
        # Mailchimp writes TAGS as "tag one","tag two": a CSV line of its own.
        try:
            parts = next(csv.reader([value], skipinitialspace=True))
        except csv.Error:
            parts = [value.replace('"', "")]
        return [p for part in parts for p in _TAG_SPLIT.split(part)]
    return _TAG_SPLIT.split(value)


class Row:
    """One contact as a file describes it, after cleaning; merged into earlier rows by key."""

    __slots__ = ("email", "key", "kind", "values", "status", "attributes", "tags")

    def __init__(self, email, key, kind, values, status, attributes, tags):
        self.email: str = email
        self.key: str = key
        self.kind: str = kind
        self.values: dict[str, str] = values  # non-empty column values only
        self.status: str | None = status  # a non-active status, or None
        self.attributes: dict[str, Any] = attributes
        self.tags: set[str] = tags

    def absorb(self, later: Row) -> None:
        # The address keeps the form first seen: a case variant is the same person, not an edit.
        self.kind = later.kind
        self.values.update(later.values)
        self.attributes.update(later.attributes)
        self.tags |= later.tags
        if self.status is None:
            self.status = later.status


class Columns:
    """What each column of a header means, and how a row of fields becomes a Row."""

    def __init__(self, header: list[str], source_name: str):
        self.width = len(header)
        self.roles: dict[str, int] = {}
        self.attributes: list[tuple[int, str]] = []
        used_keys: set[str] = set()
        for index, raw in enumerate(header):
            title = raw.strip().lstrip("\ufeff").strip()
            role = _ROLE_OF.get(_compact(title))
            if role is not None and role not in self.roles:
                self.roles[role] = index
                continue
            # Unknown, or a second column for a field already taken: an attribute.
            key = _attribute_key(title) or f"column_{index + 1}"
            base, n = key, 2
            while key in used_keys:
                key, n = f"{base}_{n}", n + 1
            used_keys.add(key)
            self.attributes.append((index, key))
        if "email" not in self.roles:
            # "Email (work)", "Primary e-mail address": one column that plainly holds the address.
            guesses = [(i, k) for i, k in self.attributes if "email" in _compact(k) or _compact(k).endswith("mail")]
            if len(guesses) == 1:
                self.roles["email"] = guesses[0][0]
                self.attributes.remove(guesses[0])
        if "email" not in self.roles:
            found = ", ".join(repr(h.strip()) for h in header if h.strip()) or "none"
            hint = ""
            if any("@" in h for h in header):
                hint = " The first line looks like data: add a header line such as 'email,name' above it."
            raise UserError(
                f"{source_name}: no email column. Columns found: {found}. "
                f"Name the address column 'email' (or 'Email Address', 'E-mail', 'mail').{hint}"
            )
        self.email = self.roles["email"]
        self.columns = [(role, self.roles[role]) for role in FIELDS if role in self.roles]

    def row(self, fields: list[str], kind: str) -> Row | str:
        """The row as a Row, or the reason it is refused."""
        width = self.width
        if len(fields) != width:
            if len(fields) > width and not "".join(fields[width:]).strip():
                fields = fields[:width]  # trailing empty cells, as spreadsheets write them
            else:
                return (
                    f"{len(fields)} field{'s' if len(fields) != 1 else ''} where the header has {width} "
                    "(a stray or missing delimiter, or a line break outside quotes?)"
                )
        address = _address(_cell(fields[self.email]))
        if isinstance(address, str):
            return address
        email, key, display = address
        cells = self._cells(fields, display)
        index = self.roles.get("attributes")
        if index is not None and fields[index].strip():
            refused = cells.merge_json(fields[index])
            if refused:
                return refused
        return cells.row(email, key, kind)

    def _cells(self, fields: list[str], display: str) -> _Cells:
        """The row's cleaned columns: the known fields (a name from first and last name, or from
        the address's display name), the other columns as attributes, tags, status and kind words."""
        roles = self.roles
        values: dict[str, str] = {}
        for role, index in self.columns:
            value = fields[index]
            if value:
                value = _one_line(_cell(value))
                if value:
                    values[role] = value
        if "name" not in values:
            first = _one_line(_cell(fields[roles["first_name"]])) if "first_name" in roles else ""
            last = _one_line(_cell(fields[roles["last_name"]])) if "last_name" in roles else ""
            name = f"{first} {last}".strip() or _one_line(display)
            if name:
                values["name"] = name
        attributes: dict[str, Any] = {}
        for index, key_name in self.attributes:
            value = fields[index]
            if value:
                value = _attribute_value(value)
                if value:
                    attributes[key_name] = value
        tags: list[Any] = []
        index = roles.get("tags")
        if index is not None and fields[index]:
            tags.extend(_split_tags(_attribute_value(fields[index])))
        status_word = _one_line(_cell(fields[roles["status"]])) if "status" in roles else ""
        kind_word = _one_line(_cell(fields[roles["kind"]])) if "kind" in roles else ""
        return _Cells(values, attributes, tags, status_word, kind_word)


def _address(raw: str) -> tuple[str, str, str] | str:
    """(address, its key, the display name written with it) from an email cell, or why not."""
    display = ""
    if ":" in raw and raw[:7].lower() == "mailto:":
        raw = raw[7:]
    if raw[-1:] == ">" and "<" in raw:
        # "Jane Doe <jane@example.org>" or "Doe, Jane <…>", as mail clients copy it.
        cut = raw.rindex("<")
        display, raw = raw[:cut].strip().strip('"').strip(), raw[cut + 1:-1].strip()
    if not raw:
        return "no email address"
    try:
        email, key = normalise(raw)
    except InvalidAddress as exc:
        return str(exc)
    return email, key, display


@dataclass(slots=True)
class _Cells:
    """A row's cleaned values on their way to a Row: its columns first, then the attributes
    column's JSON (a known field's column beats it; its status, kind and other attributes win),
    then the status and kind words read and the limits checked."""

    values: dict[str, str]
    attributes: dict[str, Any]
    tags: list[Any]
    status_word: str
    kind_word: str

    def merge_json(self, text: str) -> str | None:
        """Add an attributes column's JSON object: known keys as their fields, the rest as
        attributes. Returns why it is refused, if it is."""
        try:
            extra = json.loads(text)
        except ValueError as exc:
            return f"attributes is not valid JSON: {exc}"
        if not isinstance(extra, dict):
            return "attributes must be a JSON object such as {\"city\": \"Bristol\"}"
        if "\\ud" in text.lower():  # a lone surrogate escape cannot be stored as UTF-8
            try:
                json.dumps(extra, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                return "attributes holds text that is not valid Unicode"
        for json_key, value in extra.items():
            if value is None or value == "" or value == [] or value == {}:
                continue
            role = _ROLE_OF.get(_compact(str(json_key)))
            if role in ("email", "attributes", None):
                self.attributes[str(json_key)] = value
            elif role == "tags":
                self.tags.extend(value if isinstance(value, list) else _split_tags(str(value)))
            else:
                word = _one_line(", ".join(map(str, value)) if isinstance(value, list) else str(value))
                if not word:
                    continue
                if role == "status":
                    self.status_word = word
                elif role == "kind":
                    self.kind_word = word
                elif role in ("first_name", "last_name"):
                    self.attributes[str(json_key)] = value
                elif role not in self.values:  # a column beats the JSON
                    self.values[role] = word
        return None

    def row(self, email: str, key: str, kind: str) -> Row | str:
        """The Row (its status and kind from their words, or from Mailchimp's unsubscribe and
        clean times), or why it is refused: a value or a tag over its column's size."""
        values, attributes = self.values, self.attributes
        status = None
        if self.status_word:
            mapped = _STATUS_OF.get(self.status_word.lower())
            if mapped is None:
                attributes.setdefault("status", self.status_word)
            elif mapped != "active":
                status = mapped
        if status is None:
            if attributes.get("unsub_time"):
                status = "unsubscribed"
            elif attributes.get("clean_time"):
                status = "bounced"
        if self.kind_word:
            mapped_kind = _KIND_OF.get(self.kind_word.lower())
            if mapped_kind is None:
                attributes.setdefault("kind", self.kind_word)
            else:
                kind = mapped_kind
        if "language" in values:
            values["language"] = _language(values["language"])
        for role, value in values.items():
            if len(value) > _LIMITS[role]:
                return f"{role} is longer than {_LIMITS[role]} characters"
        clean_tags = set()
        for tag in self.tags:
            tag = normalise_tag(str(tag))
            if tag:
                if len(tag) > TAG_LIMIT:
                    return f"tag {tag[:30]!r}… is longer than {TAG_LIMIT} characters"
                clean_tags.add(tag)
        return Row(email, key, kind, values, status, attributes, clean_tags)
