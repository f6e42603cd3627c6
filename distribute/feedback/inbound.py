"""The bounce mailbox: DSNs, ARF complaints and everything else that comes back by mail.

Each message is read by distribute.feedback.bounces (the format and the judgement) and matched to the
delivery it is about. Only a signed token has an effect: the VERP token of the address a DSN
was sent back to ("bounces+TOKEN@…", see MessageBuilder.return_path), also found in the
Return-Path that an ARF report quotes from the original. The X-Distribute-Delivery header and
Message-ID of our message are not secret (every reply and forward carries them), so a report
matched only by them is kept as an event with no effect, and a report about another address
than the delivery's (a forwarding target) likewise. A report that matches nothing is ignored:
stray or forged mail must never suppress anyone. Delay warnings are recorded as "deferred" and
change nothing; auto-replies are skipped and never answered. A message larger than
DISTRIBUTE_BOUNCE_MAX_BYTES is not read at all, only counted as ignored ("too-big") and named
in the report, so that no one can stall the mailbox with one. A mail to the List-Unsubscribe
mailto address ("unsubscribe TOKEN") unsubscribes, its token being signed too.

Reading a message twice is harmless: every signal carries a key made of the report's identity,
so the second time inserts nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy.orm import Session, sessionmaker

from distribute.feedback.bounces.mailbox import iter_messages
from distribute.feedback.bounces.parts import header_text
from distribute.feedback.bounces.report import read_report
from distribute.config import Settings
from distribute.feedback.events import DUPLICATE, RECORDED, UNMATCHED, Signal, find_delivery, record
from distribute.signing import Tokens

log = logging.getLogger(__name__)


@dataclass
class InboundReport:
    messages: int = 0
    recorded: int = 0
    duplicates: int = 0
    unmatched: int = 0
    ignored: dict[str, int] = field(default_factory=dict)  # kind -> messages (autoreply, other, too-big …)
    too_big: list[dict] = field(default_factory=list)  # {"message": label, "bytes": size}, not read
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def process_mailbox(sessions: sessionmaker[Session], settings: Settings, source: str, *, limit: int | None = None,
                    progress=None) -> InboundReport:
    tokens = Tokens(settings.secret)
    report = InboundReport()
    for message in iter_messages(source, max_bytes=settings.bounce_max_bytes):
        if limit is not None and report.messages >= limit:
            break
        report.messages += 1
        try:
            if message.raw is None:  # over DISTRIBUTE_BOUNCE_MAX_BYTES: not read
                log.warning("bounce mailbox: %s is %d bytes, over DISTRIBUTE_BOUNCE_MAX_BYTES: not read",
                            message.label, message.size)
                report.ignored["too-big"] = report.ignored.get("too-big", 0) + 1
                report.too_big.append({"message": message.label, "bytes": message.size})
            else:
                with sessions.begin() as session:
                    outcomes = process_message(session, settings, tokens, message.raw, report)
                for outcome in outcomes:
                    report.recorded += outcome == RECORDED
                    report.duplicates += outcome == DUPLICATE
                    report.unmatched += outcome == UNMATCHED
            message.done()
        except Exception as exc:  # one bad message must not stop the rest; it stays unread
            log.exception("bounce mailbox: %s could not be processed", message.label)
            report.errors.append({"message": message.label, "error": f"{type(exc).__name__}: {exc}"})
        if progress:
            progress()
    return report


def process_message(session: Session, settings: Settings, tokens: Tokens, raw: bytes,
                    report: InboundReport) -> list[str]:
    identity = hashlib.sha256(raw).hexdigest()[:32]
    if (ref := _unsubscribe_request(raw, tokens)) is not None:
        return [record(session, Signal(type="unsubscribed", source="mailto", ref=ref,
                                       dedupe_key=f"mailto:{identity}"), settings)]
    parsed = read_report(raw)
    if parsed.kind in ("autoreply", "other"):
        report.ignored[parsed.kind] = report.ignored.get(parsed.kind, 0) + 1
        return []
    delivery, signed = _match(session, tokens, settings, parsed, raw)
    if delivery is None:
        return [UNMATCHED]
    excerpt = {"excerpt": _excerpt(raw)}
    if parsed.kind == "complaint":
        about = (parsed.complaint_address or delivery.email_key).lower()
        return [record(session, Signal(
            type="complained", source="arf", delivery_id=delivery.id, dedupe_key=f"arf:{identity}",
            data={"feedback_type": parsed.feedback_type, "matched_by": "token" if signed else "header"},
            raw=excerpt, verified=signed and about == delivery.email_key), settings)]
    recipients = [r for r in parsed.recipients if r.action in ("failed", "delayed")]
    if not recipients and parsed.kind == "bounce":
        # A bounce whose recipient could not be read: kept for a person to look at, no effect.
        return [record(session, Signal(type="bounced", source="dsn", delivery_id=delivery.id, bounce_kind="soft",
                                       dedupe_key=f"dsn:{identity}", data={"mta": parsed.mta, "unreadable": True},
                                       raw=excerpt, verified=False), settings)]
    outcomes = []
    for n, rcpt in enumerate(recipients):
        # The report must be about the delivery's own address: a DSN for a forwarding target
        # says nothing about the address we mailed.
        ours = signed and (rcpt.address is None or rcpt.address.lower() == delivery.email_key)
        common = {"delivery_id": delivery.id, "source": "dsn", "dedupe_key": f"dsn:{identity}:{n}", "verified": ours}
        data = {"status": rcpt.status, "diagnostic": rcpt.diagnostic, "mta": parsed.mta, "address": rcpt.address,
                "matched_by": "token" if signed else "header"}
        if rcpt.action == "delayed" or parsed.kind == "delay":
            signal = Signal(type="deferred", data=data, **common)
        elif rcpt.kind in ("hard", "soft", "block"):
            signal = Signal(type="bounced", bounce_kind=rcpt.kind, reason=rcpt.diagnostic or rcpt.reason, raw=excerpt,
                            data=data | {"category": rcpt.category, "hard": rcpt.hard, "reason": rcpt.reason}, **common)
        else:
            continue
        outcomes.append(record(session, signal, settings))
    return outcomes


def _match(session: Session, tokens: Tokens, settings: Settings, parsed, raw: bytes):
    """(delivery, matched by a signed token) or (None, False)."""
    local, _, domain = settings.bounce_mailbox_address.partition("@")
    # Anywhere in the report: the bounce's own To, or the original's Return-Path that an ARF
    # report or a DSN quotes. Only a valid signature counts.
    found = re.findall(rb"(?i)\b" + re.escape(local.encode()) + rb"\+([a-z0-9]+-[a-z0-9]+)@" + re.escape(domain.encode()), raw)
    # Each distinct token once: a forged report may repeat a real one many times.
    for token in dict.fromkeys([*parsed.verp_tokens, *(t.decode() for t in found)]):
        ref = tokens.read_verp(token)
        if ref and (delivery := find_delivery(session, ref=ref)) is not None:
            return delivery, True
    for ref in parsed.delivery_refs:
        if (delivery := find_delivery(session, ref=ref)) is not None:
            return delivery, False
    return None, False


_UNSUBSCRIBE_SUBJECT = re.compile(r"^\s*unsubscribe\s+(\S+)\s*$", re.I)


def _unsubscribe_request(raw: bytes, tokens: Tokens) -> str | None:
    """The delivery ref of a List-Unsubscribe mailto request (RFC 2369), when its token is ours."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    # compat32 and header_text, not policy.default, whose parser of a subject takes time that
    # grows with the square of its words.
    subject = BytesHeaderParser(policy=compat32).parsebytes(head).get("Subject", "")
    match = _UNSUBSCRIBE_SUBJECT.match(header_text(subject))
    return tokens.unsubscribe.unsign(match.group(1)) if match else None


def _excerpt(raw: bytes, limit: int = 4000) -> str:
    return raw[:limit].decode("utf-8", "replace")
