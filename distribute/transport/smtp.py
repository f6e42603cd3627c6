"""SMTPTransport: one SMTP connection, opened on the first send and reused for every message
after it, configured by one URL (DISTRIBUTE_SMTP_URL, read by distribute.transport.smtp_url).
Every failure leaves as one of the SendError types of distribute.transport.interface.
"""

from __future__ import annotations

import functools
import logging
import re
import smtplib
import socket
import ssl
import threading

from distribute.feedback.replies import BOUNCE, classify_reply, flatten_reply
from distribute.transport.interface import (AuthenticationError, Envelope, PermanentSendError, RelayConfigError,
                                            RelayUnavailable, SendError, SendResult, TransientSendError)
from distribute.transport.smtp_url import URL_VARIABLE, parse_smtp_url

log = logging.getLogger(__name__)


class _Stale(Exception):
    """A reused connection turned out dead before anything of this message was accepted."""


class _Stage:
    """Where a transaction is ("mail", "rcpt", "data"): a lost connection is judged by it."""

    def __init__(self):
        self.name = "mail"


class SMTPTransport:
    """Sends over one SMTP connection, opened lazily and kept for the next message.

    `timeout` is the default for every socket operation (connect, each reply); a timeout=
    parameter in the URL overrides it. `ssl_context` (for tests, or a private CA) replaces the
    default verifying context and the verify= parameter. Safe to share between threads, though
    they then take turns on the one connection.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.config = parse_smtp_url(url, timeout=timeout)
        self._local_hostname = local_hostname
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.RLock()
        self.connections = 0  # connections opened so far

    def __repr__(self) -> str:
        return f"SMTPTransport({self.config.redacted!r})"

    def __enter__(self) -> SMTPTransport:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- the public two ------------------------------------------------------------------------

    def send(self, envelope: Envelope, message: bytes) -> SendResult:
        _check_addresses(envelope)
        with self._lock:
            for attempt in (1, 2):
                try:
                    smtp, reused = self._connection()
                    result = self._transaction(smtp, envelope, message, reused=reused)
                except _Stale as exc:
                    # The server closed a connection we had kept (idle timeout, a per-connection
                    # message limit) before MAIL was answered: nothing of this message reached
                    # it, so one immediate retry on a fresh connection cannot duplicate it.
                    log.info("smtp connection went stale, reconnecting ref=%s (%s)", envelope.ref, exc)
                    if attempt == 2:
                        raise RelayUnavailable(str(exc), stage="mail") from exc
                    continue
                except SendError as exc:
                    log.info("smtp send failed ref=%s campaign=%s stage=%s code=%s type=%s",
                             envelope.ref, envelope.campaign_ref, exc.stage, exc.code, type(exc).__name__)
                    raise
                log.debug("smtp sent ref=%s campaign=%s code=%s", envelope.ref, envelope.campaign_ref, result.code)
                return result
        raise AssertionError("unreachable")

    def close(self) -> None:
        """QUIT and close; the next send opens a new connection."""
        with self._lock:
            smtp, self._smtp = self._smtp, None
            if smtp is None:
                return
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    # -- connection ------------------------------------------------------------------------------

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        if self._smtp is not None:
            return self._smtp, True
        self._smtp = self._connect()
        self.connections += 1
        return self._smtp, False

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:  # made once: loading the system's CAs is not free
            context = ssl.create_default_context()
            if not self.config.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._ssl_context = context
        return self._ssl_context

    # Everything that fails while connecting (_open, _hello) is transient, whatever the server's
    # code: a greeting "554", a missing STARTTLS, a refused login say nothing about this message or
    # its recipient, and the message must wait rather than bounce (a pipeline that sees many in a
    # row should pause, not burn through its retries). So these errors have code None, and the
    # server's code and text are in the reply: classify_reply(None, ...) -> retry.

    def _connect(self) -> smtplib.SMTP:
        where = f"{self.config.host}:{self.config.port}"
        smtp = self._open(where)
        try:
            self._hello(smtp, where)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _open(self, where: str) -> smtplib.SMTP:
        """The connection, greeted with a 220 (over TLS from the start for smtps)."""
        cfg = self.config
        try:
            if cfg.scheme == "smtps":
                return smtplib.SMTP_SSL(cfg.host, cfg.port, local_hostname=self._local_hostname or _fqdn(),
                                        timeout=cfg.timeout, context=self._tls_context())
            return smtplib.SMTP(cfg.host, cfg.port, local_hostname=self._local_hostname or _fqdn(), timeout=cfg.timeout)
        except smtplib.SMTPConnectError as exc:  # a greeting other than 220
            cls = RelayConfigError if exc.smtp_code >= 500 else RelayUnavailable
            raise cls(f"{where} refused the connection: {_said(exc)}", stage="connect") from exc
        except ssl.SSLCertVerificationError as exc:
            raise RelayConfigError(f"cannot connect to {where}: {_describe(exc)}", stage="connect") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise RelayUnavailable(f"cannot connect to {where}: {_describe(exc)}", stage="connect") from exc

    def _hello(self, smtp: smtplib.SMTP, where: str) -> None:
        """EHLO, STARTTLS and AUTH as configured; the caller closes the connection if one fails."""
        cfg = self.config
        stage = "connect"
        try:
            smtp.ehlo_or_helo_if_needed()
            if cfg.starttls:
                stage = "starttls"
                if not smtp.has_extn("starttls"):
                    # Never fall back to plain text when TLS was asked for (a downgrade attack
                    # strips STARTTLS from the EHLO reply).
                    raise RelayConfigError(f"{where} does not offer STARTTLS, which {URL_VARIABLE} asks for",
                                           stage=stage)
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if cfg.username:
                stage = "auth"
                smtp.login(cfg.username, cfg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            # 454 is "temporary authentication failure" (RFC 4954): the relay's trouble, not ours.
            cls = RelayUnavailable if 400 <= exc.smtp_code < 500 else AuthenticationError
            raise cls(f"{where} refused the login of user {cfg.username!r}: {_said(exc)}", stage=stage) from exc
        except smtplib.SMTPNotSupportedError as exc:
            cls = AuthenticationError if stage == "auth" else RelayConfigError
            raise cls(f"{where}: {exc}", stage=stage) from exc
        except smtplib.SMTPResponseException as exc:
            cls = RelayUnavailable if exc.smtp_code < 500 else RelayConfigError
            raise cls(f"{where} refused {stage}: {_said(exc)}", stage=stage) from exc
        except UnicodeEncodeError as exc:  # smtplib speaks ASCII before SMTPUTF8, AUTH included
            if stage == "auth":
                raise AuthenticationError(f"{URL_VARIABLE}: the user name and password must be ASCII",
                                          stage=stage) from exc
            raise TransientSendError(f"{where} failed at {stage}: {exc}", stage=stage) from exc
        except ssl.SSLCertVerificationError as exc:
            raise RelayConfigError(f"{where} failed at {stage}: {_describe(exc)}", stage=stage) from exc
        except (OSError, smtplib.SMTPException) as exc:  # ssl.SSLError is an OSError
            raise RelayUnavailable(f"{where} failed at {stage}: {_describe(exc)}", stage=stage) from exc

    def _drop(self) -> None:
        """Forget the connection without a QUIT (it is broken or the server is closing it)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _reset(self) -> None:
        """After a failed transaction: RSET, so that the next MAIL does not meet "503 Bad
        sequence of commands"; if RSET itself fails, drop the connection instead."""
        smtp = self._smtp
        if smtp is None:
            return
        try:
            code, _ = smtp.rset()
        except (OSError, smtplib.SMTPException):
            code = None
        if code is None or not 200 <= code < 300:
            self._drop()

    # -- one message ------------------------------------------------------------------------------

    def _mail_options(self, smtp: smtplib.SMTP, envelope: Envelope, message: bytes) -> list[str]:
        head, _, body = message.partition(b"\r\n\r\n")
        options: list[str] = []
        # RFC 6531: a non-ASCII address in the envelope, or UTF-8 in the headers (RFC 6532: the
        # To: of an internationalised mailbox), may only travel with SMTPUTF8.
        if not (envelope.sender.isascii() and envelope.recipient.isascii() and head.isascii()):
            if not smtp.has_extn("smtputf8"):
                raise PermanentSendError(
                    "5.6.7 server does not support SMTPUTF8, which a non-ASCII address or header needs",
                    code=553, stage="mail",
                )
            options.append("SMTPUTF8")
        if not body.isascii():
            if not smtp.has_extn("8bitmime"):  # RFC 6152
                raise PermanentSendError("5.6.3 server does not accept 8-bit data (8BITMIME)",
                                         code=554, stage="mail")
            options.append("BODY=8BITMIME")
        return options

    def _transaction(self, smtp: smtplib.SMTP, envelope: Envelope, message: bytes, *, reused: bool) -> SendResult:
        """One message, pipelined where the relay offers it (RFC 2920: Postfix and Exim do), and
        every failure mapped to its SendError here, in one place, by where it happened."""
        options = self._mail_options(smtp, envelope, message)  # before any command: nothing to reset
        at = _Stage()
        try:
            exchange = self._pipelined if smtp.has_extn("pipelining") else self._stepwise
            code, text = exchange(smtp, envelope, message, options, at, reused)
            return SendResult(code=code, reply=flatten_reply(text))
        except SendError as exc:
            if exc.code == 530:  # RFC 4954: authentication required, i.e. our settings lack it
                self._reset()
                raise RelayConfigError(exc.reply, code=exc.code, stage=exc.stage) from exc
            if exc.code == 421:  # the server is closing the channel: RSET would only fail
                self._drop()
                # Whatever the stage, a 421 says the message was not taken: the relay is going away.
                raise RelayUnavailable(exc.reply, code=exc.code, stage=exc.stage) from exc
            self._reset()
            raise
        except (OSError, smtplib.SMTPException) as exc:
            # Disconnects (SMTPServerDisconnected), timeouts, resets, garbled replies. After a
            # loss during DATA the server may or may not have taken the message (RFC 1047): it is
            # retried, and the receiver may see it twice; that is the price of not losing it.
            # Before DATA nothing of the message was accepted: the relay is down, not the message.
            self._drop()
            if at.name == "mail" and reused and isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError)):
                raise _Stale(_describe(exc)) from exc
            cls = TransientSendError if at.name == "data" else RelayUnavailable
            raise cls(f"connection lost at {at.name}: {_describe(exc)}", stage=at.name) from exc
        except BaseException:
            # Anything unforeseen (a bug, a KeyboardInterrupt) may have left a transaction open:
            # never reuse the connection after it.
            self._drop()
            raise

    def _stepwise(self, smtp: smtplib.SMTP, envelope: Envelope, message: bytes, options: list[str], at: _Stage,
                  reused: bool) -> tuple[int, bytes]:
        """MAIL, RCPT, DATA and the message, each after the last one's reply: four round trips."""
        smtp.send(_line(smtp, "mail", "from:", envelope.sender, options))
        self._check(*self._first_reply(smtp, reused), at.name)
        at.name = "rcpt"
        self._check(*_command(smtp, "rcpt", "to:", envelope.recipient, ()), at.name)
        at.name = "data"
        code, text = _data(smtp, message)
        self._check(code, text, at.name)
        return code, text

    def _pipelined(self, smtp: smtplib.SMTP, envelope: Envelope, message: bytes, options: list[str], at: _Stage,
                   reused: bool) -> tuple[int, bytes]:
        """MAIL, RCPT and DATA in one write, their replies read in order, then the message: two
        round trips. A refusal is judged at the first command that failed, a lost connection at
        the reply it was lost at: as one command at a time would."""
        smtp.send(_line(smtp, "mail", "from:", envelope.sender, options)
                  + _line(smtp, "rcpt", "to:", envelope.recipient, ()) + b"DATA\r\n")
        replies = [("mail", *self._first_reply(smtp, reused))]
        for stage in ("rcpt", "data"):
            if replies[-1][1] == 421:  # the server is closing: no more replies come
                break
            at.name = stage
            replies.append((stage, *smtp.getreply()))
        refused = [(st, c, t) for st, c, t in replies if not (200 <= c < 300 or st == "data" and c == 354)]
        if refused:
            if replies[-1][:2] == ("data", 354):
                # DATA was taken although MAIL or RCPT was not (RFC 2920 3.1): end it empty.
                smtp.send(b".\r\n")
                smtp.getreply()
            stage, code, text = refused[0]
            self._check(code, text, stage)
            raise TransientSendError(f"{code} {flatten_reply(text)}", code=code, stage=stage)  # a stray 3xx
        code, text = _message(smtp, message)
        self._check(code, text, at.name)
        return code, text

    def _first_reply(self, smtp: smtplib.SMTP, reused: bool) -> tuple[int, bytes]:
        code, text = smtp.getreply()
        if code == 421 and reused:
            # RFC 5321 3.8: 421 means the server is closing; on a kept connection that is
            # usually its idle or per-connection limit, not a verdict on this message.
            self._drop()
            raise _Stale(f"{code} {flatten_reply(text)}")
        return code, text

    @staticmethod
    def _check(code: int, text: bytes | str, stage: str) -> None:
        if 200 <= code < 300:
            return
        reply = flatten_reply(text)
        # The action comes from the one classification; 4xx and silence retry, 5xx bounce.
        if classify_reply(code, reply).action == BOUNCE:
            raise PermanentSendError(reply, code=code, stage=stage)
        raise TransientSendError(reply, code=code, stage=stage)


@functools.cache
def _fqdn() -> str:
    # smtplib would look this up for every connection, and a slow resolver makes that seconds.
    return socket.getfqdn()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# An address smtplib's quoteaddr would only wrap in <>: no display name, comment or route to parse.
_BARE = re.compile(r"[^\s<>()\[\]\",;:\\@]+@[^\s<>()\[\]\",;:\\@]+")


def _command(smtp: smtplib.SMTP, verb: str, prefix: str, address: str, options: list[str] | tuple) -> tuple[int, bytes]:
    """smtplib's mail() and rcpt() without their parse of the address by the email package (a
    tenth of a message's CPU in a worker): our envelope addresses are bare, checked before the
    first command (_check_addresses); anything else goes through smtplib's own quoting."""
    smtp.send(_line(smtp, verb, prefix, address, options))
    return smtp.getreply()


def _line(smtp: smtplib.SMTP, verb: str, prefix: str, address: str, options: list[str] | tuple) -> bytes:
    """The MAIL or RCPT command line, encoded as smtplib's putcmd would."""
    path = f"<{address}>" if _BARE.fullmatch(address) else smtplib.quoteaddr(address)
    if "SMTPUTF8" in options:
        smtp.command_encoding = "utf-8"  # what smtplib's mail() does for it
    optionlist = " " + " ".join(options) if options and smtp.does_esmtp else ""
    return f"{verb} {prefix}{path}{optionlist}\r\n".encode(smtp.command_encoding)


def _data(smtp: smtplib.SMTP, message: bytes) -> tuple[int, bytes]:
    """smtplib's data() for bytes, with the dot-stuffing (RFC 5321 4.5.2: a line that begins
    with "." gets one more) by bytes.replace instead of its regular expression, a third of its
    time for a 10 KB message. The reply to DATA itself when it is not 354, else to the message."""
    smtp.putcmd("data")
    code, text = smtp.getreply()
    if code != 354:
        return code, text
    return _message(smtp, message)


def _message(smtp: smtplib.SMTP, message: bytes) -> tuple[int, bytes]:
    """The message after DATA's 354, dot-stuffed, and the reply to it."""
    stuffed = message.replace(b"\n.", b"\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    smtp.send(stuffed + b".\r\n")
    return smtp.getreply()


def _check_addresses(envelope: Envelope) -> None:
    """Refuse what smtplib would refuse half-way through a transaction (a CR or LF in a command
    raises ValueError there), before the first command is sent."""
    if not envelope.recipient or _CONTROL.search(envelope.recipient) or "@" not in envelope.recipient:
        raise PermanentSendError("5.1.3 bad recipient address syntax", code=553, stage="rcpt")
    if _CONTROL.search(envelope.sender):
        raise PermanentSendError("5.1.7 bad sender address syntax", code=553, stage="mail")


def _said(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {flatten_reply(exc.smtp_error)}"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ssl.SSLCertVerificationError):
        text += f" (the server's TLS certificate was not trusted; fix it, or add verify=false to {URL_VARIABLE})"
    elif isinstance(exc, TimeoutError):
        text = f"timed out ({text})"
    return flatten_reply(text)
