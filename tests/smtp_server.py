"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a free port, in a thread of its own.

It accepts, defers, refuses and drops by rules set from the test, and records what it took.
Being a real server on a real socket, clients in other processes (Celery workers) can use it
by its `.url`; connections are served concurrently by one asyncio loop, and the records and
rules are guarded by a lock, so tests read them from their own thread at any time.

    from smtp_server import SMTPTestServer

    with SMTPTestServer() as server:                      # or the `smtp_server` fixture below
        server.refuse(to="gone@example.com")              # 550 5.1.1 at RCPT
        server.defer(to=lambda a: a.endswith("@slow.example"), times=2)   # 451 twice, then 250
        server.refuse_data(to="spam@example.com", code=554, text="5.7.1 looks like spam")
        server.delay(3.0)                                 # wait 3 s before answering DATA
        server.drop_after(10)                             # 11th DATA: connection cut, no reply
        server.accept(to="gone@example.com")              # newer rules win: accepted again
        ... DISTRIBUTE_SMTP_URL=server.url ...
        server.wait_for(50, timeout=10)
        assert server.count_by_recipient()["a@example.com"] == 1

Rules are kept newest first; for each recipient the newest matching rule that is still active
decides (a `defer` is spent after `times` deferrals of that address). `delay` adds to whatever
else decides. `accept()` with no argument forgets every rule.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from distribute.signing import DELIVERY_HEADER

Match = str | Callable[[str], bool] | None

# How long a dropped connection's handler waits to be cancelled (it always is, at once).
_DROP_GRACE = 30.0


@dataclass(frozen=True)
class Received:
    """One accepted message."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes  # the message as the client sent it (dot-stuffing undone)
    delivery: str | None  # the X-Distribute-Delivery header
    queue_id: str  # the id in our "250 2.0.0 Ok: queued as <id>"
    connection: int  # which connection (1, 2, ...) carried it
    smtputf8: bool
    tls: bool
    user: str | None  # the authenticated user name, if any

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass(frozen=True)
class Refusal:
    """One non-2xx answer the rules gave (or a drop: code None)."""

    stage: str  # "rcpt", "data", "rset"
    recipients: tuple[str, ...]
    code: int | None
    text: str
    connection: int


@dataclass
class _Rule:
    kind: str  # accept | defer | refuse | refuse_data | delay
    matches: Callable[[str], bool]
    stage: str  # rcpt | data | both
    code: int = 250
    text: str = ""
    times: int | None = None  # defer: per address; None = forever
    seconds: float = 0.0
    spent: Counter = field(default_factory=Counter)

    def reply(self, address: str) -> str | None:
        """The answer this rule gives `address` now (spending a deferral), or None if spent."""
        if self.kind == "accept":
            return ""
        if self.kind == "defer":
            if self.times is not None and self.spent[address] >= self.times:
                return None
            self.spent[address] += 1
        return f"{self.code} {self.text}".strip()


def _matcher(to: Match) -> Callable[[str], bool]:
    if to is None:
        return lambda address: True
    if isinstance(to, str):
        wanted = to.lower()
        return lambda address: address.lower() == wanted
    return to


class _SMTP(SMTP):
    connection_id = 0
    owner: SMTPTestServer

    def connection_lost(self, error):
        self.owner._forget(self)
        super().connection_lost(error)


class _Controller(Controller):
    def __init__(self, owner: SMTPTestServer, **kwargs):
        self.owner = owner
        super().__init__(owner._handler, hostname="127.0.0.1", port=owner.port, **kwargs)

    def factory(self):
        smtp = _SMTP(self.handler, **self.SMTP_kwargs)
        smtp.owner = self.owner
        smtp.connection_id = self.owner._opened(smtp)
        return smtp

    def _create_server(self):
        # Serve on the socket the owner bound itself (port 0: the kernel picks a free port), so
        # that no other process can take the port between choosing it and listening on it.
        return self.loop.create_server(self._factory_invoker, sock=self.owner._socket, ssl=self.ssl_context)


class _Handler:
    def __init__(self, owner: SMTPTestServer):
        self.owner = owner

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.owner.auth is None:  # advertise AUTH only when it is configured
            responses = [line for line in responses if not line[4:].upper().startswith("AUTH")]
        if self.owner.pipelining:
            responses = [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.owner.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.owner._rcpt_reply(address, server.connection_id)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_QUIT(self, server, session, envelope):
        self.owner._quit()
        return "221 2.0.0 Bye"

    async def handle_RSET(self, server, session, envelope):
        return self.owner._rset_reply(server.connection_id)

    async def handle_DATA(self, server, session, envelope):
        owner = self.owner
        recipients = tuple(envelope.rcpt_tos)
        drop, seconds, reply = owner._data_decision(recipients, server.connection_id)
        if drop:
            # Cut the TCP connection without a reply: the client, waiting for the answer to its
            # final dot, sees the connection close. connection_lost() cancels this coroutine.
            server.transport.abort()
            await asyncio.sleep(_DROP_GRACE)
            return "421 4.3.0 dropped"  # not reached
        if seconds:
            await asyncio.sleep(seconds)
        if reply:
            owner._refused("data", recipients, reply, server.connection_id)
            return reply
        auth = session.auth_data
        received = Received(
            sender=envelope.mail_from,
            recipients=recipients,
            data=envelope.original_content,
            delivery=_delivery_header(envelope.original_content),
            queue_id="",
            connection=server.connection_id,
            smtputf8=envelope.smtp_utf8,
            tls=server.transport is not None and server.transport.get_extra_info("ssl_object") is not None,
            user=auth.login.decode("utf-8", "replace") if isinstance(auth, LoginPassword) else None,
        )
        queue_id = owner._accepted(received)
        return f"250 2.0.0 Ok: queued as {queue_id}"


def _delivery_header(data: bytes) -> str | None:
    value = BytesHeaderParser(policy=policy.compat32).parsebytes(data).get(DELIVERY_HEADER)
    return str(value).strip() if value is not None else None


class SMTPTestServer:
    """See the module docstring.

    auth: ("user", "password") to require AUTH PLAIN/LOGIN before MAIL (530 otherwise).
    auth_mechanisms: which of PLAIN and LOGIN to offer.
    tls_context: a server-side SSLContext (e.g. from trustme) to offer STARTTLS, or with
    implicit_tls=True to speak TLS from the first byte (smtps://). With TLS, AUTH is offered
    only after STARTTLS, as a real relay does.
    smtputf8: advertise SMTPUTF8 (RFC 6531).
    pipelining: advertise PIPELINING (RFC 2920), as Postfix and Exim do; aiosmtpd reads the
    commands of a pipelined write one by one, in order, as a relay does.
    """

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        auth_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        smtputf8: bool = True,
        pipelining: bool = True,
        hostname: str = "mx.test.invalid",
    ):
        if implicit_tls and tls_context is None:
            raise ValueError("implicit_tls needs a tls_context")
        self.auth = auth
        self.pipelining = pipelining
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.port = 0
        self._socket: socket.socket | None = None
        self._handler = _Handler(self)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._rules: list[_Rule] = []
        self._received: list[Received] = []
        self._refusals: list[Refusal] = []
        self._connections = 0
        self._rsets = 0
        self._quits = 0
        self._live: set[_SMTP] = set()
        self._drop_at: int | None = None
        self._rset_fail: tuple[str, int] | None = None  # (reply, times left)
        self._queue_ids = itertools.count(1)
        self._starting = False
        kwargs: dict = {
            "server_hostname": hostname,
            "enable_SMTPUTF8": smtputf8,
            "authenticator": self._authenticate,
            "auth_exclude_mechanism": [m for m in ("PLAIN", "LOGIN") if m not in auth_mechanisms],
            # Without TLS the test relay takes AUTH in clear text, like a relay on localhost.
            "auth_require_tls": tls_context is not None,
        }
        if implicit_tls:
            kwargs["ssl_context"] = tls_context
        elif tls_context is not None:
            kwargs["tls_context"] = tls_context
        self._controller_kwargs = kwargs
        self._controller: _Controller | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SMTPTestServer:
        if self._controller is not None:
            raise RuntimeError("already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))  # 0 the first time; the same port on a restart
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._controller = _Controller(self, **self._controller_kwargs)
        self._starting = True
        try:
            self._controller.start()  # it opens one connection of its own to check it is up
        except BaseException:
            self._controller = None
            sock.close()
            raise
        finally:
            with self._lock:
                self._starting = False
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is None:
            return
        self.drop_connections()
        controller.stop()
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """A DISTRIBUTE_SMTP_URL for this server. With TLS it says verify=false, because a client
        in another process cannot be handed the test CA; tests in this process pass an
        ssl_context to SMTPTransport instead, which overrides it."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = ""
        if self.auth:
            user = f"{quote(self.auth[0], safe='')}:{quote(self.auth[1], safe='')}@"
        params = []
        if self.tls_context is not None and not self.implicit_tls:
            params.append("starttls=true")
        if self.tls_context is not None:
            params.append("verify=false")
        query = "?" + "&".join(params) if params else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}{query}"

    def drop_connections(self) -> None:
        """Cut every open connection now (as a relay restart would)."""
        controller = self._controller
        if controller is None:
            return
        with self._lock:
            live = list(self._live)
        for smtp in live:
            if smtp.transport is not None:
                controller.loop.call_soon_threadsafe(smtp.transport.abort)

    # -- rules ----------------------------------------------------------------------------------

    def accept(self, *, to: Match = None) -> None:
        """Accept mail to `to`, overriding older rules; with no `to`, forget every rule."""
        with self._lock:
            if to is None:
                self._rules.clear()
                self._drop_at = None
                self._rset_fail = None
            else:
                self._rules.insert(0, _Rule("accept", _matcher(to), "both"))

    def defer(self, *, to: Match = None, times: int | None = 1, code: int = 451,
              text: str = "4.3.0 Try again later", at: str = "rcpt") -> None:
        """Answer 4xx at RCPT (or at the end of DATA, at="data") the first `times` times for
        each matching address, then let older rules (or acceptance) decide."""
        if not 400 <= code < 500 or at not in ("rcpt", "data"):
            raise ValueError("defer takes a 4xx code and at='rcpt' or 'data'")
        with self._lock:
            self._rules.insert(0, _Rule("defer", _matcher(to), at, code, text, times))

    def refuse(self, *, to: Match = None, code: int = 550, text: str = "5.1.1 user unknown") -> None:
        """Answer 5xx at RCPT."""
        if not 500 <= code < 600:
            raise ValueError("refuse takes a 5xx code")
        with self._lock:
            self._rules.insert(0, _Rule("refuse", _matcher(to), "rcpt", code, text))

    def refuse_data(self, *, to: Match = None, code: int = 554,
                    text: str = "5.7.1 Message rejected as spam") -> None:
        """Take the whole message, then answer 5xx to the final dot."""
        if not 500 <= code < 600:
            raise ValueError("refuse_data takes a 5xx code")
        with self._lock:
            self._rules.insert(0, _Rule("refuse_data", _matcher(to), "data", code, text))

    def delay(self, seconds: float, *, to: Match = None) -> None:
        """Wait `seconds` before answering DATA (other connections are served meanwhile)."""
        with self._lock:
            self._rules.insert(0, _Rule("delay", _matcher(to), "data", seconds=seconds))

    def drop_after(self, n: int) -> None:
        """Once `n` more messages have been accepted, cut the connection that sends the next
        one, after its final dot and without a reply. Once only."""
        with self._lock:
            self._drop_at = len(self._received) + n

    def fail_rset(self, *, times: int = 1, code: int = 421, text: str = "4.3.0 RSET failed, closing") -> None:
        """Answer RSET with an error the next `times` times."""
        with self._lock:
            self._rset_fail = (f"{code} {text}", times)

    # -- what happened --------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def refusals(self) -> list[Refusal]:
        with self._lock:
            return list(self._refusals)

    @property
    def connections(self) -> int:
        """Connections opened by clients (the controller's own start-up probe not counted)."""
        with self._lock:
            return self._connections

    @property
    def open_connections(self) -> int:
        """Client connections open now."""
        with self._lock:
            return len(self._live)

    @property
    def rsets(self) -> int:
        with self._lock:
            return self._rsets

    @property
    def quits(self) -> int:
        with self._lock:
            return self._quits

    def count_by_recipient(self) -> Counter[str]:
        with self._lock:
            return Counter(address for message in self._received for address in message.recipients)

    def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Received]:
        """Block until `count` messages were accepted; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"SMTP test server: {len(self._received)} of {count} messages "
                                         f"after {timeout} s")
                self._changed.wait(left)
            return list(self._received)

    def clear(self) -> None:
        """Forget what was received and counted (rules stay)."""
        with self._lock:
            self._received.clear()
            self._refusals.clear()
            self._connections = 0
            self._rsets = 0
            self._quits = 0

    # -- called from the server's loop ------------------------------------------------------------

    def _opened(self, smtp: _SMTP) -> int:
        with self._lock:
            self._live.add(smtp)
            if self._starting:
                return 0  # the controller's start-up probe
            self._connections += 1
            return self._connections

    def _forget(self, smtp: _SMTP) -> None:
        with self._lock:
            self._live.discard(smtp)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            self.auth is not None
            and isinstance(auth_data, LoginPassword)
            and auth_data.login == self.auth[0].encode()
            and auth_data.password == self.auth[1].encode()
        )
        # A failure leaves the reply to aiosmtpd: "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def _rcpt_reply(self, address: str, connection: int) -> str | None:
        with self._lock:
            for rule in self._rules:
                if rule.stage not in ("rcpt", "both") or not rule.matches(address):
                    continue
                reply = rule.reply(address)
                if reply is None:  # a spent deferral: older rules decide
                    continue
                if reply:
                    self._refusals.append(Refusal("rcpt", (address,), int(reply[:3]), reply[4:], connection))
                return reply or None
            return None

    def _data_decision(self, recipients: tuple[str, ...], connection: int) -> tuple[bool, float, str | None]:
        """(drop, delay in seconds, a refusal reply or None)."""
        with self._lock:
            if self._drop_at is not None and len(self._received) >= self._drop_at:
                self._drop_at = None
                self._refusals.append(Refusal("data", recipients, None, "connection dropped", connection))
                return True, 0.0, None
            seconds = 0.0
            for rule in self._rules:
                if rule.stage not in ("data", "both") or not any(rule.matches(a) for a in recipients):
                    continue
                if rule.kind == "delay":
                    seconds += rule.seconds
                    continue
                if rule.kind == "accept":
                    return False, seconds, None
                reply = None
                for address in recipients:
                    if rule.matches(address):
                        reply = rule.reply(address)
                        break
                if reply:
                    return False, seconds, reply
            return False, seconds, None

    def _refused(self, stage: str, recipients: tuple[str, ...], reply: str, connection: int) -> None:
        with self._lock:
            self._refusals.append(Refusal(stage, recipients, int(reply[:3]), reply[4:], connection))

    def _quit(self) -> None:
        with self._lock:
            self._quits += 1

    def _rset_reply(self, connection: int) -> str:
        with self._lock:
            self._rsets += 1
            if self._rset_fail is not None:
                reply, left = self._rset_fail
                self._rset_fail = (reply, left - 1) if left > 1 else None
                self._refusals.append(Refusal("rset", (), int(reply[:3]), reply[4:], connection))
                return reply
            return "250 2.0.0 Ok"

    def _accepted(self, received: Received) -> str:
        with self._changed:
            queue_id = f"Q{next(self._queue_ids):06d}"
            self._received.append(replace(received, queue_id=queue_id))
            self._changed.notify_all()
            return queue_id


@pytest.fixture
def smtp_server() -> Iterator[SMTPTestServer]:
    """A plain SMTP server (no TLS, no AUTH) for one test. Import this fixture into a test
    module, or list this module in `pytest_plugins`."""
    with SMTPTestServer() as server:
        yield server
