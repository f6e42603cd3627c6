"""Transports: the one narrow door through which a built message leaves.

`Transport.send(envelope, message)` returns a SendResult or raises a SendError; the pipeline
needs nothing else, so an ESP's HTTP API can be added later as a third implementation without
touching it. Two implementations: SMTPTransport (distribute.transport.smtp), one SMTP connection
configured by one URL (DISTRIBUTE_SMTP_URL), and OutboxTransport (distribute.transport.outbox),
one .eml file per message under a directory per campaign (embedded mode).

What an error means is decided by its type: TransientSendError -> try again later,
PermanentSendError -> do not retry. Both carry the server's reply code (None when the message
got no reply of its own) and text; which of them a reply becomes, and whether a permanent one is
a hard bounce, is judged in one place, distribute.feedback.replies.classify_reply (also available as
`error.verdict`), so the type and classify_reply(error.code, error.reply) always agree (the
stage, which it is also told, changes only whether a bounce is hard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from distribute.feedback.replies import STAGES, Verdict, classify_reply, flatten_reply


@dataclass(frozen=True)
class Envelope:
    sender: str  # the envelope sender (MAIL FROM, where bounces go)
    recipient: str  # the envelope recipient (RCPT TO)
    ref: str  # the delivery's public reference
    campaign_ref: str


@dataclass(frozen=True)
class SendResult:
    code: int  # e.g. 250
    reply: str  # e.g. "2.0.0 Ok: queued as ABC", one line


class SendError(Exception):
    """The message was not handed over. `code` is the server's reply to this message's MAIL,
    RCPT or DATA; None when the message got no reply of its own: a refused or dropped
    connection, a timeout, a failed STARTTLS or login (what the server said then is in `reply`,
    its code included). `reply` is one line; `stage` the step that failed: connect, starttls,
    auth, mail, rcpt, data (or write, for the outbox). classify_reply(code, reply) judges it and
    agrees with the type: code None or 4xx -> retry (Transient), 5xx -> bounce (Permanent)."""

    def __init__(self, reply: str, *, code: int | None = None, stage: str | None = None):
        self.reply = flatten_reply(reply)
        self.code = code
        self.stage = stage
        super().__init__(self.reply)

    def __str__(self) -> str:
        where = f" (at {self.stage})" if self.stage else ""
        return f"{self.code} {self.reply}{where}" if self.code is not None else f"{self.reply}{where}"

    def __reduce__(self):  # keyword-only fields survive pickling (Celery carries exceptions)
        return (type(self), (self.reply,), {"code": self.code, "stage": self.stage})

    @property
    def verdict(self) -> Verdict:
        """classify_reply(self.code, self.reply), told the command that was refused (a refusal
        of MAIL FROM or after DATA is never a dead address)."""
        return classify_reply(self.code, self.reply, stage=self.stage if self.stage in STAGES else None)


class TransientSendError(SendError):
    """Try again later: a 4xx reply, a dropped connection, a timeout, or a relay that refuses
    our connection or credentials."""


class PermanentSendError(SendError):
    """Do not retry: a 5xx reply to MAIL, RCPT or DATA for this message."""


class RelayUnavailable(TransientSendError):
    """The relay cannot take mail now, whoever it is for: the connection was refused, timed out
    or broke before the message was handed over, the TLS handshake failed, or the relay said
    421 (RFC 5321: service not available, closing the channel). Nothing of the message was
    accepted, so it may be sent again as if never tried; the recipient is not at fault, and a
    pipeline waits for the relay rather than counting it against anyone."""


class RelayConfigError(TransientSendError):
    """Our settings do not fit the relay: it refused our login, its certificate is not one we
    trust, it lacks the STARTTLS we ask for, or it refused us outright before any message.
    Waiting will not help: a pipeline stops until DISTRIBUTE_SMTP_URL (or the relay) is fixed."""


class AuthenticationError(RelayConfigError):
    """The relay refused our SMTP credentials."""


@runtime_checkable
class Transport(Protocol):
    def send(self, envelope: Envelope, message: bytes) -> SendResult: ...

    def close(self) -> None: ...
