"""Reading one message that came back: a bounce (and of which recipients, and why), a delay
warning, an auto-reply, a spam complaint, or anything else.

The standards come first, because they say exactly what happened:

* RFC 6522 multipart/report with an RFC 3464 message/delivery-status part (or RFC 6533
  message/global-delivery-status): one block of fields per recipient, with its Action
  ("failed" is a bounce, "delayed" only a warning: RFC 3464 section 2.3.3), its RFC 3463
  Status and the remote server's Diagnostic-Code.
* RFC 5965 ARF (multipart/report; report-type=feedback-report): a recipient complained.
* RFC 3834 auto-replies (Auto-Submitted: auto-replied) and the older vacation headers.
* Amazon SES events that come by mail, as JSON (`sesmail`).

Then the prose of MTAs that send no DSN (`textbounce`). A DSN's prose is read as well: it often
holds the remote reply that the fields leave out, the SMTP command that reply answered (which
`classify_reply` is told), and the reporting MTA's own words (a report that itself says the
mailbox is full or disabled says that it exists: never hard). Each recipient is judged by
`classify.judge`, i.e. by the same `classify_reply` that judges synchronous SMTP replies.

Parsing uses `email.policy.compat32`: it keeps malformed headers as plain strings where the
newer policy raises on access, and real bounces are often malformed. Nothing here raises on
bad input: anything unreadable is a report of kind "other".

Anyone can mail the bounce address, so reading a message costs time linear in its size,
whatever it holds (bench/bench_bounce_worst.py measures it): the patterns here and in
`textbounce` are written for that, no field is looked up by name in a loop (Message.get scans
them all), and what costs more than its size is bounded by what a report of ours can hold:
* The standard library's parser checks every line against the boundary of every enclosing
  multipart (time: lines x depth), and makes an object per block of a delivery-status part
  (a blank line costs it as much as ~100 bytes of text). A report is nested three deep at most
  (a returned original inside multipart/report, wrapped once by a forwarding gateway), and our
  text and HTML hold a few hundred blank lines: a message declaring more than `_MAX_MULTIPARTS`
  multiparts or holding more than `_MAX_BLANK_LINES` blank lines is not a report, and not read.
* Decoding headers, reading the prose and the returned headers, and handing on our refs are
  bounded as `parts` says (distribute.feedback.bounces.parts).
* A Diagnostic-Code is one SMTP reply (RFC 5321 4.5.3.1.5: a reply line is at most 512 octets,
  a multi-line reply a few lines): only its first `_MAX_DIAGNOSTIC` characters are judged.
* We send every message to one envelope recipient, so a report about one of ours names one or
  a few (aliases expanded): only the first `_MAX_RECIPIENTS` recipients are judged.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32

from distribute.feedback.bounces.classify import bounce_kind, judge, reply_text
from distribute.feedback.bounces.parts import (FEEDBACK_TYPE, STATUS_TYPES, addresses, delivery_refs, header,
                                               header_text, originals, own_parts, report_text, verp_tokens)
from distribute.feedback.bounces.sesmail import SesNotification, read_ses_json
from distribute.feedback.bounces.textbounce import command_in, cut_copy, read_text_bounce, recipients_in_text
from distribute.feedback.bounces.vendorfields import vendor_status
from distribute.feedback.replies import enhanced_status

BOUNCE, DELAY, AUTOREPLY, COMPLAINT, OTHER = "bounce", "delay", "autoreply", "complaint", "other"
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
# Bounds on what a report of ours holds: see the module's docstring.
_MAX_MULTIPARTS = 16
_MAX_BLANK_LINES = 10_000
_MAX_DIAGNOSTIC = 1000
_MAX_RECIPIENTS = 100
_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient"})
_PER_RECIPIENT_FIELDS = _RECIPIENT_FIELDS | {"action", "status", "diagnostic-code"}
_SES_RECEIVING = re.compile(r"inbound-smtp\.[a-z0-9-]+\.amazonaws\.com$")
# What a reporting MTA says in its own words of a mailbox that exists (see _own_statement).
_OWN_FULL = re.compile(r"mailbox\s+(?:is\s+)?full|over\s*quota|quota\s+exceeded|(?:not\s+enough|insufficient)\s+"
                       r"(?:disk\s+|storage\s+)?(?:space|storage)", re.I)
# ("disabled or discontinued" may be gone for good: not a passing state)
_OWN_DISABLED = re.compile(r"(?:account|mailbox)\s+(?:is|has\s+been)\s+(?:disabled|suspended|frozen)"
                           r"(?!\s+or\s+discontinued)", re.I)
# A multipart's boundary parameter, also in RFC 2231 form ("boundary*0*=").
_BOUNDARY_PARAM = re.compile(rb"boundary\s*(?:\*\d*)?\*?\s*=", re.I)


@dataclass(frozen=True)
class BounceRecipient:
    address: str | None  # the original (else final) recipient, domain lowercased
    action: str  # RFC 3464: "failed" | "delayed" | "delivered" | "relayed" | "expanded"
    status: str | None  # RFC 3463 "5.1.1"
    diagnostic: str  # the remote reply or the MTA's reason, one line
    remote_mta: str | None
    hard: bool  # the address itself is dead: suppress it
    kind: str  # "hard" | "soft" | "block" | "none"
    category: str  # one of distribute.feedback.replies.CATEGORIES
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
        raw = bytes(raw)
        if _costly_to_parse(raw):
            return Report(kind=OTHER)
        message = email.message_from_bytes(raw, policy=compat32)
        return _read(message)
    except Exception:  # noqa: BLE001 -- garbage in, "other" out: one bad message must not stop a mailbox
        return Report(kind=OTHER)


def _costly_to_parse(raw: bytes) -> bool:
    """More multiparts or blank lines than a report holds: see the module's docstring."""
    blank_lines = raw.count(b"\n\n") + raw.count(b"\n\r\n") + raw.count(b"\r\r")
    return blank_lines > _MAX_BLANK_LINES or len(_BOUNDARY_PARAM.findall(raw)) > _MAX_MULTIPARTS


def _read(message: Message) -> Report:
    parts = list(own_parts(message))
    text, returned = report_text(parts), originals(parts)
    common = {"delivery_refs": delivery_refs(text, returned), "verp_tokens": verp_tokens(message)}

    feedback = [part for part in parts if part.get_content_type() == FEEDBACK_TYPE]
    if feedback:
        fields = (_blocks(feedback[0]) or [{}])[0]
        return Report(kind=COMPLAINT, mta="arf", feedback_type=(fields.get("feedback-type") or "").strip().lower() or None,
                      complaint_address=_complainant(fields, returned), **common)

    for part in parts:
        if part.get_content_type() in STATUS_TYPES:
            report = _read_dsn(message, part, text, common)
            if report is not None:
                return report

    ses = read_ses_json(text, limit=_MAX_RECIPIENTS)
    if ses is not None:
        return _read_ses(ses, common)

    headers = "\n".join(f"{name}: {header_text(value)}" for name, value in message.items())
    failed = addresses(message.get_all("X-Failed-Recipients"))
    dsn = message.get_content_type() == "multipart/report" and \
        (message.get_param("report-type") or "").lower() == "delivery-status"
    prose = read_text_bounce(text, subject=header(message, "Subject"), sender=header(message, "From"),
                             headers=headers, failed_header=failed, dsn=dsn)
    if not (prose and prose.found):
        for original in returned:
            # A DSN forwarded whole by a gateway (virus scanners do): the report is the inner one.
            if original.get_content_type() == "multipart/report":
                return _read(original)
    # Exim and others mark their bounces "Auto-Submitted: auto-replied": a daemon's report
    # in a known wording is a bounce all the same.
    if prose is not None and (prose.found or prose.certain or not _is_autoreply(message)):
        action = "delayed" if prose.delayed else "failed"
        recipients = tuple(_recipient(found.address, action, None, found.diagnostic, found.remote_mta,
                                      found.command)
                           for found in prose.found[:_MAX_RECIPIENTS])
        return Report(kind=DELAY if prose.delayed else BOUNCE, recipients=recipients, mta=prose.mta, **common)
    if _is_autoreply(message):
        return Report(kind=AUTOREPLY, mta="autoreply", **common)
    return Report(kind=OTHER, **common)


def _read_dsn(message: Message, part: Message, text: str, common: dict) -> Report | None:
    blocks = _blocks(part)
    if not blocks:
        return None
    per_message = blocks[0]
    # Per-message and first per-recipient fields sometimes run together, with no blank line;
    # and a part whose closing boundary is misspelt runs on into what follows it, which holds
    # none of a recipient's fields.
    recipient_blocks = [fields for fields in (blocks if _RECIPIENT_FIELDS & per_message.keys() else blocks[1:])
                        if _PER_RECIPIENT_FIELDS & fields.keys()]
    if not recipient_blocks:
        return None  # no per-recipient block: a broken DSN, read as prose instead
    reporting_mta = (_dsn_address(per_message.get("reporting-mta")) or "").lower()
    # The human-readable part often says more than the fields: the remote reply when there is no
    # Diagnostic-Code (it is optional, RFC 3464 2.3.6), and the command it answered.
    prose = {found.address.lower(): found for found in recipients_in_text(text, also=_dsn_addresses(recipient_blocks))}
    lone = len(recipient_blocks) == 1
    recipients = []
    for fields in recipient_blocks[:_MAX_RECIPIENTS]:
        address = _dsn_address(fields.get("original-recipient")) or _dsn_address(fields.get("final-recipient"))
        status = _status(fields.get("status"))
        action = (fields.get("action") or "").strip().lower().split(" ")[0]
        if action not in _ACTIONS:  # missing or misspelt: the status class says it (RFC 3463 3.1)
            action = {"2": "delivered", "4": "delayed"}.get((status or "")[:1], "failed")
        diagnostic = " ".join((fields.get("diagnostic-code") or "").split())[:_MAX_DIAGNOSTIC]
        said = prose.get((address or "").lower()) or prose.get((_dsn_address(fields.get("final-recipient")) or "").lower())
        if not diagnostic:
            # ... or a comment after the Status ("5.0.0 (over quota)").
            diagnostic = (said.diagnostic if said else "") or _status_comment(fields.get("status"))
        command = (command_in(diagnostic) or (said.command if said else None)
                   or (command_in(text) if lone else None) or _stage_by_provider(reporting_mta))
        remote = _dsn_address(fields.get("remote-mta"))
        recipient = _recipient(address, action, status, diagnostic, remote, command, vendor_status(fields))
        if lone and recipient.hard:
            recipient = _own_statement(recipient, text, diagnostic) or recipient
        recipients.append(recipient)
    # Sendmail repeats a recipient once per alias it expanded: one entry per address and action.
    unique = {(recipient.address, recipient.action): recipient for recipient in reversed(recipients)}
    recipients = [recipient for recipient in recipients if unique[(recipient.address, recipient.action)] is recipient]
    actions = {recipient.action for recipient in recipients}
    # A success DSN (delivered, relayed, expanded: RFC 3464 2.3.3) is neither bounce nor delay.
    kind = BOUNCE if "failed" in actions else DELAY if "delayed" in actions else OTHER
    return Report(kind=kind, recipients=tuple(recipients), mta=_dsn_mta(message, per_message), **common)


def _read_ses(ses: SesNotification, common: dict) -> Report:
    if ses.kind == "complaint":
        address = ses.recipients[0].address if ses.recipients else None
        return Report(kind=COMPLAINT, mta="ses", feedback_type=ses.feedback_type,
                      complaint_address=_normalise(address), **common)
    default = "delayed" if ses.kind == "delay" else "failed"
    recipients = tuple(_recipient(r.address, r.action if r.action in _ACTIONS else default, _status(r.status),
                                  r.diagnostic, None) for r in ses.recipients)
    kind = {"bounce": BOUNCE, "delay": DELAY}.get(ses.kind, OTHER)
    return Report(kind=kind, recipients=recipients, mta="ses", **common)


def _dsn_addresses(blocks: list[dict[str, str]]) -> set[str]:
    found = set()
    for fields in blocks[:_MAX_RECIPIENTS]:
        for name in ("original-recipient", "final-recipient"):
            address = _dsn_address(fields.get(name))
            if address:
                found.add(address.lower())
    return found


def _stage_by_provider(reporting_mta: str) -> str | None:
    """Amazon SES receiving (Reporting-MTA inbound-smtp.REGION.amazonaws.com) accepts a message
    and then runs the receipt rules its customer wrote; a rule's bounce action sends the code and
    text the rule names ("550 5.1.1 Mailbox does not exist" is one of its templates), so its
    refusal is a rule's, not a check of a mailbox: stage "rule" (see classify_reply)."""
    return "rule" if _SES_RECEIVING.match(reporting_mta) else None


def _own_statement(recipient: BounceRecipient, text: str, diagnostic: str) -> BounceRecipient | None:
    """A report whose own words (its human-readable part, without the reply it quotes) say that
    the mailbox is full or disabled says that the mailbox exists: the recipient is judged by
    those words, as the RFC 3463 status they describe (X.2.2 full, X.2.1 disabled), not as dead.
    A wrong hard bounce silences an address for good; a missed one costs one more bounce."""
    own = " ".join(cut_copy(text).split())
    quoted = " ".join(reply_text(diagnostic).split())
    if quoted:
        own = own.replace(quoted, " ")
    for status, pattern in (("5.2.2", _OWN_FULL), ("5.2.1", _OWN_DISABLED)):
        match = pattern.search(own)
        if match:
            return _recipient(recipient.address, recipient.action, status, f"{status} {match.group(0)}",
                              recipient.remote_mta)
    return None


def _recipient(address: str | None, action: str, status: str | None, diagnostic: str,
               remote_mta: str | None, command: str | None = None, vendor: str | None = None) -> BounceRecipient:
    """`vendor`: the RFC 3463 status of the reporting MTA's own category (vendorfields), judged
    in front of the reply."""
    judged = f"{vendor} {reply_text(diagnostic)}" if vendor else diagnostic or status or ""
    verdict = judge(judged, status, action=action, stage=command)
    hard = verdict.hard and action == "failed"
    return BounceRecipient(
        address=_normalise(address), action=action,
        status=(enhanced_status(reply_text(diagnostic)) or status) if vendor else verdict.status or status,
        diagnostic=diagnostic, remote_mta=remote_mta, hard=hard,
        kind=bounce_kind(verdict),
        category=verdict.category, reason=verdict.reason,
    )


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
            blocks.extend(_fields(sub))
        # get_payload() would replace 8-bit bytes; RFC 6533 fields are UTF-8, so take the bytes.
        rest = sub.get_payload(decode=True) if isinstance(sub.get_payload(), str) else None
        if rest and rest.strip():
            for chunk in re.split(r"\r?\n[ \t]*\r?\n", rest.decode("utf-8", "replace").strip()):
                fields = email.message_from_string(chunk.strip("\r\n") + "\n\n", policy=compat32)
                if fields.keys():
                    blocks.extend(_fields(fields))
    return blocks


def _fields(block: Message) -> list[dict[str, str]]:
    """name (lowercased) -> the first value of that name, in one dict per recipient: some MTAs
    run the fields of several recipients together with no blank line between them, so a second
    Final-Recipient (or Original-Recipient) starts another. One pass: Message.get looks through
    every field, so asking it for each name in turn costs the square of their number."""
    found: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    for name, value in block.items():
        key = name.lower()
        if key in _RECIPIENT_FIELDS and key in fields:
            found.append(fields)
            fields = {}
        if key not in fields:
            fields[key] = header_text(value)
    found.append(fields)
    return found


def _dsn_address(value: str | None) -> str | None:
    """ "rfc822; <Jane@Example.ORG>" -> "Jane@Example.ORG" (RFC 3464 2.3.2: address-type ; address);
    "dns; mx.example.org" -> "mx.example.org"."""
    if not value:
        return None
    text = value.split(";", 1)[1] if ";" in value else value
    return text.strip().strip("<>").strip() or None


def _status_comment(value: str | None) -> str:
    """ "5.0.0 (over quota)" -> "over quota": from the first "(" to the last ")". Not a regex
    search, which would scan to the end again from every "(" of a field full of them."""
    text = value or ""
    start, end = text.find("("), text.rfind(")")
    return text[start + 1:end].strip() if 0 <= start < end else ""


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
    where = " ".join((per_message.get("reporting-mta", ""), header(message, "From"))).lower()
    for needle, label in (("amazonses", "ses"), ("google", "gmail"), ("yahoo", "yahoo"),
                          ("outlook.com", "exchange"), ("exchange", "exchange"), ("postfix", "postfix")):
        if needle in where:
            return label
    if "x-postfix-queue-id" in per_message:
        return "postfix"
    return "rfc3464"


def _complainant(fields: dict[str, str], returned: list[Message]) -> str | None:
    """RFC 5965 3.2: Original-Rcpt-To names the complaining recipient; without it (it is
    optional, and often redacted) the To of the returned original is the best we have."""
    address = _dsn_address(fields.get("original-rcpt-to"))
    if address:
        return _normalise(address)
    for original in returned:
        found = addresses(original.get_all("To"))
        if found:
            return _normalise(found[0])
    return None


def _is_autoreply(message: Message) -> bool:
    for name, pattern in _AUTOREPLY_HEADERS.items():
        value = message.get(name)
        if value is not None and pattern is not None and pattern.search(str(value)):
            return True
    return bool(_AUTOREPLY_SUBJECT.search(header(message, "Subject")))
