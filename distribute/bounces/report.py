"""Reading one message that came back: a bounce (and of which recipients, and why), a delay
warning, an auto-reply, a spam complaint, or anything else.

The standards come first, because they say exactly what happened:

* RFC 6522 multipart/report with an RFC 3464 message/delivery-status part (or RFC 6533
  message/global-delivery-status): one block of fields per recipient, with its Action
  ("failed" is a bounce, "delayed" only a warning: RFC 3464 section 2.3.3), its RFC 3463
  Status and the remote server's Diagnostic-Code.
* RFC 5965 ARF (multipart/report; report-type=feedback-report): a recipient complained.
* RFC 3834 auto-replies (Auto-Submitted: auto-replied) and the older vacation headers.

Then the prose of MTAs that send no DSN (`textbounce`). Each recipient is judged by
`classify.judge`, i.e. by the same `classify_reply` that judges synchronous SMTP replies.

Parsing uses `email.policy.compat32`: it keeps malformed headers as plain strings where the
newer policy raises on access, and real bounces are often malformed. Nothing here raises on
bad input: anything unreadable is a report of kind "other".
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses

from distribute.bounces.classify import bounce_kind, judge
from distribute.bounces.textbounce import cut_copy, read_text_bounce, recipients_in_text
from distribute.message import DELIVERY_HEADER

BOUNCE, DELAY, AUTOREPLY, COMPLAINT, OTHER = "bounce", "delay", "autoreply", "complaint", "other"
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_FEEDBACK_TYPE = "message/feedback-report"
# The returned original, whole or its headers only (RFC 6522 section 3; RFC 6533 section 6).
_ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
                   "message/global-headers")
# RFC 3464 section 2.3.3.
_ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
# RFC 3834 section 5: "auto-replied" is a reply; Exim marks its bounces "auto-replied" too,
# which is why a recognised bounce wins over this header. "auto-generated" is a report, not
# a reply, so it says nothing here. The others are older conventions of vacation programs.
_AUTOREPLY_HEADERS = {
    "auto-submitted": re.compile(r"^\s*auto-replied", re.I),
    "x-autoreply": re.compile(r".", re.I), "x-autorespond": re.compile(r".", re.I),
    "x-autoresponder": re.compile(r".", re.I),
    "precedence": re.compile(r"^\s*auto[_-]reply", re.I),
    "x-auto-response-suppress": None,  # Exchange: set on auto-replies but also on NDRs; ignored
}
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|auto:|"
    r"abwesenheit|absence|vacation|away from|on leave|r[ée]ponse automatique|risposta automatica|"
    r"respuesta autom[aá]tica|automatisch antwoord)", re.I)
_MESSAGE_ID_REF = re.compile(r"<([^@<>\s]+)@[^<>\s]+>")
_HEADER_IN_TEXT = re.compile(rf"^(?:{DELIVERY_HEADER}|Message-ID):[ \t]*(.+)$", re.I | re.M)
_VERP_HEADERS = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "Return-Path")


@dataclass(frozen=True)
class BounceRecipient:
    address: str | None  # the original (else final) recipient, domain lowercased
    action: str  # RFC 3464: "failed" | "delayed" | "delivered" | "relayed" | "expanded"
    status: str | None  # RFC 3463 "5.1.1"
    diagnostic: str  # the remote reply or the MTA's reason, one line
    remote_mta: str | None
    hard: bool  # the address itself is dead: suppress it
    kind: str  # "hard" | "soft" | "block" | "none"
    category: str  # one of distribute.smtp_replies.CATEGORIES
    reason: str  # one human sentence


@dataclass(frozen=True)
class Report:
    kind: str  # "bounce" | "delay" | "autoreply" | "complaint" | "other"
    recipients: tuple[BounceRecipient, ...] = ()
    delivery_refs: tuple[str, ...] = ()  # our delivery refs, from the returned original
    verp_tokens: tuple[str, ...] = ()  # the TOKEN of LOCAL+TOKEN@domain the bounce was sent to
    feedback_type: str | None = None  # ARF: "abuse", "fraud", ...
    complaint_address: str | None = None  # ARF: who complained
    mta: str | None = None  # the format recognised: "rfc3464", "postfix", "exim", "arf", ...

    @property
    def is_bounce(self) -> bool:
        return self.kind == BOUNCE


def read_report(raw: bytes) -> Report:
    """Read one message (its bytes, headers and all). Never raises."""
    try:
        message = email.message_from_bytes(bytes(raw), policy=compat32)
        return _read(message)
    except Exception:  # noqa: BLE001 -- garbage in, "other" out: one bad message must not stop a mailbox
        return Report(kind=OTHER)


def _read(message: Message) -> Report:
    parts = list(_own_parts(message))
    common = {"delivery_refs": _delivery_refs(message, parts), "verp_tokens": _verp_tokens(message)}

    feedback = [part for part in parts if part.get_content_type() == _FEEDBACK_TYPE]
    if feedback:
        fields = (_blocks(feedback[0]) or [{}])[0]
        return Report(kind=COMPLAINT, mta="arf", feedback_type=(fields.get("feedback-type") or "").strip().lower() or None,
                      complaint_address=_complainant(fields, parts), **common)

    for part in parts:
        if part.get_content_type() in _STATUS_TYPES:
            report = _read_dsn(message, part, parts, common)
            if report is not None:
                return report

    headers = "\n".join(f"{name}: {_header(message, name)}" for name in message.keys())
    text = _report_text(parts)
    failed = [addr for _, addr in getaddresses(message.get_all("X-Failed-Recipients") or []) if addr]
    prose = read_text_bounce(text, subject=_header(message, "Subject"), sender=_header(message, "From"),
                             headers=headers, failed_header=failed)
    if not (prose and prose.found):
        for original in _originals(parts):
            # A DSN forwarded whole by a gateway (virus scanners do): the report is the inner one.
            if original.get_content_type() == "multipart/report":
                return _read(original)
    # Exim and others mark their bounces "Auto-Submitted: auto-replied": a daemon's report
    # in a known wording is a bounce all the same.
    if prose is not None and (prose.found or prose.certain or not _is_autoreply(message)):
        action = "delayed" if prose.delayed else "failed"
        recipients = tuple(_recipient(found.address, action, None, found.diagnostic, found.remote_mta)
                           for found in prose.found)
        return Report(kind=DELAY if prose.delayed else BOUNCE, recipients=recipients, mta=prose.mta, **common)
    if _is_autoreply(message):
        return Report(kind=AUTOREPLY, mta="autoreply", **common)
    return Report(kind=OTHER, **common)


def _read_dsn(message: Message, part: Message, parts: list[Message], common: dict) -> Report | None:
    blocks = _blocks(part)
    if len(blocks) == 1 and "final-recipient" in blocks[0]:
        blocks = blocks * 2  # per-message and per-recipient fields run together, no blank line
    if len(blocks) < 2:
        return None  # no per-recipient block: a broken DSN, read as prose instead
    per_message, recipients = blocks[0], []
    prose = None
    for fields in blocks[1:]:
        address = _dsn_address(fields.get("original-recipient")) or _dsn_address(fields.get("final-recipient"))
        status = _status(fields.get("status"))
        action = (fields.get("action") or "").strip().lower().split(" ")[0]
        if action not in _ACTIONS:  # missing or misspelt: the status class says it (RFC 3463 3.1)
            action = {"2": "delivered", "4": "delayed"}.get((status or "")[:1], "failed")
        diagnostic = " ".join((fields.get("diagnostic-code") or "").split())
        if not diagnostic:
            # Diagnostic-Code is optional (RFC 3464 2.3.6); many MTAs put the remote reply only
            # in the human-readable part, or a comment after the Status ("5.0.0 (over quota)").
            if prose is None:
                prose = {found.address.lower(): found.diagnostic
                         for found in recipients_in_text(_report_text(parts))}
            diagnostic = prose.get((address or "").lower()) or _status_comment(fields.get("status"))
        remote = _dsn_address(fields.get("remote-mta"))
        recipients.append(_recipient(address, action, status, diagnostic, remote))
    if not recipients:
        return None
    # Sendmail repeats a recipient once per alias it expanded: one entry per address and action.
    unique = {(recipient.address, recipient.action): recipient for recipient in reversed(recipients)}
    recipients = [recipient for recipient in recipients if unique[(recipient.address, recipient.action)] is recipient]
    actions = {recipient.action for recipient in recipients}
    # A success DSN (delivered, relayed, expanded: RFC 3464 2.3.3) is neither bounce nor delay.
    kind = BOUNCE if "failed" in actions else DELAY if "delayed" in actions else OTHER
    return Report(kind=kind, recipients=tuple(recipients), mta=_dsn_mta(message, per_message), **common)


def _recipient(address: str | None, action: str, status: str | None, diagnostic: str,
               remote_mta: str | None) -> BounceRecipient:
    verdict = judge(diagnostic or status or "", status, action=action)
    hard = verdict.hard and action == "failed"
    return BounceRecipient(
        address=_normalise(address), action=action, status=verdict.status or status,
        diagnostic=diagnostic, remote_mta=remote_mta, hard=hard,
        kind=bounce_kind(verdict),
        category=verdict.category, reason=verdict.reason,
    )


def _own_parts(message: Message):
    """The report's own parts, depth first, without descending into a returned message."""
    yield message
    if message.get_content_type() in _ORIGINAL_TYPES + _STATUS_TYPES + (_FEEDBACK_TYPE,):
        return
    if message.is_multipart():
        for sub in message.get_payload():
            if isinstance(sub, Message):
                yield from _own_parts(sub)


def _blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a delivery-status or feedback-report part (RFC 3464 section 2.1),
    names lowercased. compat32 parses message/delivery-status into one Message per block; for
    the other types it parses the first block as headers and leaves the rest as text."""
    payload = part.get_payload()
    messages = payload if isinstance(payload, list) else []
    if isinstance(payload, str):
        messages = [email.message_from_string(payload.lstrip("\r\n"), policy=compat32)]
    blocks: list[dict[str, str]] = []
    for sub in messages:
        if not isinstance(sub, Message):
            continue
        if sub.keys():
            blocks.append({name.lower(): _header(sub, name) for name in sub.keys()})
        # get_payload() would replace 8-bit bytes; RFC 6533 fields are UTF-8, so take the bytes.
        rest = sub.get_payload(decode=True) if isinstance(sub.get_payload(), str) else None
        if rest and rest.strip():
            for chunk in re.split(r"\r?\n[ \t]*\r?\n", rest.decode("utf-8", "replace").strip()):
                fields = email.message_from_string(chunk.strip("\r\n") + "\n\n", policy=compat32)
                if fields.keys():
                    blocks.append({name.lower(): _header(fields, name) for name in fields.keys()})
    return blocks


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    text = _utf8(str(value))  # a Header of unknown-8bit, or text with surrogate escapes
    try:
        return " ".join(str(make_header(decode_header(text))).split())
    except Exception:  # noqa: BLE001 -- an undecodable encoded-word stays as it came
        return " ".join(text.split())


def _utf8(text: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; RFC 6532 headers and
    RFC 6533 fields are UTF-8, so read them back as such."""
    try:
        return text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # already decoded text
        return text


def _dsn_address(value: str | None) -> str | None:
    """ "rfc822; <Jane@Example.ORG>" -> "Jane@Example.ORG" (RFC 3464 2.3.2: address-type ; address);
    "dns; mx.example.org" -> "mx.example.org"."""
    if not value:
        return None
    text = value.split(";", 1)[1] if ";" in value else value
    return text.strip().strip("<>").strip() or None


def _status_comment(value: str | None) -> str:
    match = re.search(r"\((.*)\)", value or "")
    return match.group(1).strip() if match else ""


def _status(value: str | None) -> str | None:
    match = re.search(r"\b([245]\.\d{1,3}\.\d{1,3})\b", value or "")
    return match.group(1) if match else None


def _normalise(address: str | None) -> str | None:
    """The domain is case-insensitive (RFC 5321 2.4); the local part is left as it was."""
    if not address:
        return None
    local, at, domain = address.strip().strip("<>").rpartition("@")
    return f"{local}@{domain.lower()}" if at else address.strip()


def _dsn_mta(message: Message, per_message: dict[str, str]) -> str:
    """Which provider wrote the DSN, for the admin's eye: they all follow RFC 3464."""
    where = " ".join((per_message.get("reporting-mta", ""), _header(message, "From"))).lower()
    for needle, label in (("amazonses", "ses"), ("google", "gmail"), ("yahoo", "yahoo"),
                          ("outlook.com", "exchange"), ("exchange", "exchange"), ("postfix", "postfix")):
        if needle in where:
            return label
    if "x-postfix-queue-id" in per_message:
        return "postfix"
    return "rfc3464"


def _complainant(fields: dict[str, str], parts: list[Message]) -> str | None:
    """RFC 5965 3.2: Original-Rcpt-To names the complaining recipient; without it (it is
    optional, and often redacted) the To of the returned original is the best we have."""
    address = _dsn_address(fields.get("original-rcpt-to"))
    if address:
        return _normalise(address)
    for original in _originals(parts):
        found = [addr for _, addr in getaddresses(original.get_all("To") or []) if addr]
        if found:
            return _normalise(found[0])
    return None


def _originals(parts: list[Message]) -> list[Message]:
    """The headers of the returned original message, wherever the report put them."""
    found = []
    for part in parts:
        if part.get_content_type() not in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            found.extend(sub for sub in payload if isinstance(sub, Message))
        elif isinstance(payload, str):
            found.append(email.message_from_string(payload.lstrip("\r\n"), policy=compat32))
    return found


def _delivery_refs(message: Message, parts: list[Message]) -> tuple[str, ...]:
    """Our delivery refs in the returned original: the X-Distribute-Delivery header and the
    local part of the Message-ID "<REF@domain>" (message.py writes both)."""
    values: list[str] = []
    for original in _originals(parts):
        values.extend(str(value) for value in original.get_all(DELIVERY_HEADER) or [])
        values.extend(str(value) for value in original.get_all("Message-ID") or [])
    if not values:  # a prose bounce that quotes the original below its report
        text = _report_text(parts)
        copy = text[len(cut_copy(text)):]
        values.extend(match.group(1) for match in _HEADER_IN_TEXT.finditer(copy))
    refs: list[str] = []
    for value in values:
        match = _MESSAGE_ID_REF.search(value)
        ref = match.group(1) if match else value.strip()
        if ref and " " not in ref and ref not in refs:
            refs.append(ref)
    return tuple(refs)


def _verp_tokens(message: Message) -> tuple[str, ...]:
    """TOKEN of every LOCAL+TOKEN@domain the bounce itself was addressed to (VERP: our
    Return-Path was "bounces+TOKEN@…", and the MTA sends the bounce there)."""
    tokens: list[str] = []
    values = [str(value) for name in _VERP_HEADERS for value in message.get_all(name) or []]
    for _, address in getaddresses(values):
        local = address.rpartition("@")[0] if "@" in address else ""
        token = local.partition("+")[2]
        if token and token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def _report_text(parts: list[Message]) -> str:
    """The human-readable text of the report: its text/plain parts (else its HTML, untagged)."""
    texts, html = [], []
    for part in parts:
        kind = part.get_content_type()
        if part.is_multipart() or kind not in ("text/plain", "text/html"):
            continue
        (texts if kind == "text/plain" else html).append(_decoded(part))
    if not texts and html:
        texts = [re.sub(r"(?s)<(?:style|script).*?</(?:style|script)>|<[^>]+>", " ", text)
                 .replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                 for text in html]
    return "\n".join(texts)


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)  # the original bytes, whatever the encoding
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("latin-1")


def _is_autoreply(message: Message) -> bool:
    for name, pattern in _AUTOREPLY_HEADERS.items():
        value = message.get(name)
        if value is not None and pattern is not None and pattern.search(str(value)):
            return True
    return bool(_AUTOREPLY_SUBJECT.search(_header(message, "Subject")))
