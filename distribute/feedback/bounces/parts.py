"""Where things are in a message that came back (distribute.feedback.bounces.report reads it):
the report's own parts, without descending into the returned original; the original's headers,
wherever the report put them; the report's human-readable text; header values decoded; our
delivery refs and VERP tokens.

Hostile input costs time linear in its size here too (see report's docstring): decode_header
takes time that grows with the square of a line's encoded words, so only the first
`MAX_ENCODED_HEADER` characters of a field are decoded; a report's prose and our headers
returned alone fill its first few KB, so only the first `MAX_TEXT` characters of either are
read (getaddresses costs ~1 us a character, too); a report about one of ours quotes one
delivery ref, so `MAX_REFS` refs and VERP tokens are handed on at most (each costs a lookup).
"""

from __future__ import annotations

import email
import re
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses

from distribute.feedback.bounces.textbounce import cut_copy
from distribute.signing import DELIVERY_HEADER

STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
FEEDBACK_TYPE = "message/feedback-report"
# The returned original, whole or its headers only (RFC 6522 section 3; RFC 6533 section 6).
ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
                  "message/global-headers")
_MESSAGE_ID_REF = re.compile(r"<([^@<>\s]+)@[^<>\s]+>")
_HEADER_IN_TEXT = re.compile(rf"^(?:{DELIVERY_HEADER}|Message-ID):[ \t]*(.+)$", re.I | re.M)
_VERP_HEADERS = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "Return-Path")
# Bounds on what a report of ours holds: see the module's docstring.
MAX_ENCODED_HEADER = 1000
MAX_TEXT = 64_000
MAX_REFS = 10
# Markup to drop from an HTML-only report: a style or script block (unclosed, it runs to the
# end, as in a browser), or one tag. Each match consumes what it scanned and a tag stops at the
# next "<", so no text is scanned twice, however many "<style" or "<" a hostile body holds.
_HTML_TAGS = re.compile(r"(?is)<(style|script)\b.*?(?:</\1\s*>|\Z)|<[^<>]+>")


def own_parts(message: Message):
    """The report's own parts, depth first, without descending into a returned message."""
    yield message
    if message.get_content_type() in ORIGINAL_TYPES + STATUS_TYPES + (FEEDBACK_TYPE,):
        return
    if message.is_multipart():
        for sub in message.get_payload():
            if isinstance(sub, Message):
                yield from own_parts(sub)


def originals(parts: list[Message]) -> list[Message]:
    """The headers of the returned original message, wherever the report put them."""
    found = []
    for part in parts:
        if part.get_content_type() not in ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            found.extend(sub for sub in payload if isinstance(sub, Message))
        elif isinstance(payload, str):
            found.append(email.message_from_string(payload.lstrip("\r\n")[:MAX_TEXT], policy=compat32))
    return found


def report_text(parts: list[Message]) -> str:
    """The human-readable text of the report: its text/plain parts (else its HTML, untagged),
    up to `MAX_TEXT` characters."""
    texts, html = [], []
    for part in parts:
        kind = part.get_content_type()
        if kind.startswith("multipart/") and not part.is_multipart():
            # A multipart whose boundary is missing or never appears (a folded Content-Type
            # line without its indent): the parser leaves its body as text, and so is it read.
            kind = "text/plain"
        if part.is_multipart() or kind not in ("text/plain", "text/html"):
            continue
        (texts if kind == "text/plain" else html).append(_decoded(part))
    if not texts and html:
        texts = [_HTML_TAGS.sub(" ", text)
                 .replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                 for text in html]
    return "\n".join(texts)[:MAX_TEXT]


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)  # the original bytes, whatever the encoding
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("latin-1")


def header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else header_text(value)


def header_text(value) -> str:
    """A header's value as one line, its RFC 2047 encoded words decoded."""
    text = " ".join(_utf8(str(value)).split())  # a Header of unknown-8bit, or text with surrogate escapes
    if "=?" not in text:
        return text
    try:
        # decode_header's time grows with the square of the encoded words on a line; a value
        # worth decoding (a subject, a name) is short, so only its start is decoded.
        return " ".join(str(make_header(decode_header(text[:MAX_ENCODED_HEADER]))).split())
    except Exception:  # noqa: BLE001 -- an undecodable encoded-word stays as it came
        return text


def _utf8(text: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; RFC 6532 headers and
    RFC 6533 fields are UTF-8, so read them back as such. Japanese MTAs write fields in 7-bit
    ISO-2022-JP (RFC 1468) without encoded words: its escape sequence says so."""
    try:
        raw = text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # already decoded text
        return text
    return raw.decode("iso2022_jp" if b"\x1b$" in raw else "utf-8", "replace")


def addresses(values: list | None) -> list[str]:
    """The addresses in some header values (the first `MAX_TEXT` characters of them)."""
    text = ", ".join(str(value) for value in values or [])[:MAX_TEXT]
    return [address for _, address in getaddresses([text]) if address]


def delivery_refs(text: str, returned: list[Message]) -> tuple[str, ...]:
    """Our delivery refs in the returned original: the X-Distribute-Delivery header and the
    local part of the Message-ID "<REF@domain>" (message.py writes both)."""
    values: list[str] = []
    for original in returned:
        values.extend(str(value) for value in original.get_all(DELIVERY_HEADER) or [])
        values.extend(str(value) for value in original.get_all("Message-ID") or [])
    if not values:  # a prose bounce that quotes the original below its report
        copy = text[len(cut_copy(text)):]
        values.extend(match.group(1) for match in _HEADER_IN_TEXT.finditer(copy))
    refs: dict[str, None] = {}  # ordered, and no list scanned for each value
    for value in values:
        match = _MESSAGE_ID_REF.search(value)
        ref = match.group(1) if match else value.strip()
        if ref and " " not in ref:
            refs[ref] = None
    return tuple(refs)[:MAX_REFS]


def verp_tokens(message: Message) -> tuple[str, ...]:
    """TOKEN of every LOCAL+TOKEN@domain the bounce itself was addressed to (VERP: our
    Return-Path was "bounces+TOKEN@…", and the MTA sends the bounce there)."""
    tokens: dict[str, None] = {}
    values = [value for name in _VERP_HEADERS for value in message.get_all(name) or []]
    for address in addresses(values):
        local = address.rpartition("@")[0] if "@" in address else ""
        token = local.partition("+")[2]
        if token:
            tokens[token] = None
    return tuple(tokens)[:MAX_REFS]
