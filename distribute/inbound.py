"""The bounce mailbox: DSNs, ARF complaints and everything else that comes back by mail.

Each message is read by distribute.bounces (the format and the judgement) and matched to the
delivery it is about: first by the signed VERP token in the address it was sent back to
("bounces+TOKEN@…", see MessageBuilder.return_path), then by the X-Distribute-Delivery header
or Message-ID of our message quoted inside it. A report that matches no delivery we sent is
ignored: stray or forged mail must never suppress anyone. Delay warnings are recorded as
"deferred" and change nothing; auto-replies are skipped and never answered.

Reading a message twice is harmless: every signal carries a key made of the report's identity,
so the second time inserts nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from distribute.bounces import iter_messages, read_report
from distribute.config import Settings
from distribute.feedback import DUPLICATE, RECORDED, UNMATCHED, Signal, find_delivery, record
from distribute.tracking import Tokens

log = logging.getLogger(__name__)


@dataclass
class InboundReport:
    messages: int = 0
    recorded: int = 0
    duplicates: int = 0
    unmatched: int = 0
    ignored: dict[str, int] = field(default_factory=dict)  # kind -> messages (autoreply, other …)
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def process_mailbox(sessions: sessionmaker[Session], settings: Settings, source: str, *, limit: int | None = None,
                    progress=None) -> InboundReport:
    tokens = Tokens(settings.secret)
    report = InboundReport()
    for message in iter_messages(source):
        if limit is not None and report.messages >= limit:
            break
        report.messages += 1
        try:
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
    parsed = read_report(raw)
    if parsed.kind in ("autoreply", "other"):
        report.ignored[parsed.kind] = report.ignored.get(parsed.kind, 0) + 1
        return []
    delivery = _match(session, tokens, parsed)
    if delivery is None:
        return [UNMATCHED]
    identity = hashlib.sha256(raw).hexdigest()[:32]
    if parsed.kind == "complaint":
        return [record(session, Signal(
            type="complained", source="arf", delivery_id=delivery.id, dedupe_key=f"arf:{identity}",
            data={"feedback_type": parsed.feedback_type}, raw={"excerpt": _excerpt(raw)}), settings)]
    outcomes = []
    for n, rcpt in enumerate(parsed.recipients or ()):
        if rcpt.action == "delayed" or parsed.kind == "delay":
            signal = Signal(type="deferred", source="dsn", delivery_id=delivery.id, dedupe_key=f"dsn:{identity}:{n}",
                            data={"status": rcpt.status, "diagnostic": rcpt.diagnostic, "mta": parsed.mta})
        elif rcpt.action == "failed" and rcpt.kind in ("hard", "soft", "block"):
            signal = Signal(type="bounced", source="dsn", delivery_id=delivery.id, dedupe_key=f"dsn:{identity}:{n}",
                            bounce_kind=rcpt.kind, reason=rcpt.diagnostic or rcpt.reason,
                            data={"status": rcpt.status, "category": rcpt.category, "hard": rcpt.hard,
                                  "reason": rcpt.reason, "mta": parsed.mta, "address": rcpt.address},
                            raw={"excerpt": _excerpt(raw)})
        else:
            continue  # delivered, relayed, expanded: success notices
        outcomes.append(record(session, signal, settings))
    return outcomes


def _match(session: Session, tokens: Tokens, parsed):
    for token in parsed.verp_tokens:
        ref = tokens.bounce.unsign(token)
        if ref and (delivery := find_delivery(session, ref=ref)) is not None:
            return delivery
    for ref in parsed.delivery_refs:
        if (delivery := find_delivery(session, ref=ref)) is not None:
            return delivery
    return None


def _excerpt(raw: bytes, limit: int = 4000) -> str:
    return raw[:limit].decode("utf-8", "replace")
