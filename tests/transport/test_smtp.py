"""SMTPTransport against a real SMTP server (tests/smtp_server.py) on 127.0.0.1."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time

import pytest
import trustme
from smtp_server import SMTPTestServer

from distribute.transport.interface import (
    AuthenticationError,
    RelayConfigError,
    RelayUnavailable,
    Envelope,
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
)
from distribute.transport.smtp import SMTPTransport

SENDER = "bounces@press.example.org"


def envelope(ref: str, recipient: str | None = None, campaign: str = "camp1") -> Envelope:
    return Envelope(sender=SENDER, recipient=recipient or f"{ref}@example.com", ref=ref, campaign_ref=campaign)


def message(env: Envelope) -> bytes:
    # A leading dot on a body line checks SMTP dot-stuffing both ways (RFC 5321 4.5.2).
    return (
        f"From: Press Office <press@example.org>\r\n"
        f"To: <{env.recipient}>\r\n"
        f"Subject: Release {env.ref}\r\n"
        f"Message-ID: <{env.ref}@press.example.org>\r\n"
        f"X-Distribute-Delivery: {env.ref}\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"\r\n"
        f"Hello.\r\n"
        f".a line that starts with a dot\r\n"
        f"..and two\r\n"
    ).encode("utf-8")


def send(transport, ref: str, recipient: str | None = None) -> SendResult:
    env = envelope(ref, recipient)
    return transport.send(env, message(env))


def outcomes(transport, refs_and_recipients) -> list:
    """Send each; a SendResult or the SendError raised, in order."""
    out = []
    for ref, recipient in refs_and_recipients:
        try:
            out.append(send(transport, ref, recipient))
        except SendError as exc:
            # The pipeline judges errors by classify_reply(code, reply): it must agree with the type.
            assert (exc.verdict.action == "retry") == isinstance(exc, TransientSendError), exc
            out.append(exc)
    return out


@pytest.fixture(params=["pipelining", "one command at a time"])
def smtp_server(request):
    """Every test here against a relay that pipelines (RFC 2920, as Postfix does: the transport
    then sends MAIL, RCPT and DATA in one write) and against one that does not."""
    with SMTPTestServer(pipelining=request.param == "pipelining") as server:
        yield server


def test_pipelining_sends_mail_rcpt_and_data_in_one_write(smtp_server):
    """Two round trips a message where the relay pipelines, four where it does not: the server
    sees the same commands in the same order either way."""
    with SMTPTransport(smtp_server.url, timeout=5) as t:
        send(t, "p1")
        smtp = t._smtp
        written = []
        real = smtp.send
        smtp.send = lambda data: (written.append(data.encode() if isinstance(data, str) else data), real(data))[1]
        send(t, "p2")
        assert smtp.has_extn("pipelining") == smtp_server.pipelining
    commands = [w for w in written if not w.startswith(b"From:") and not w.startswith(b"\r\n")]
    if smtp_server.pipelining:
        assert commands[0] == b"mail from:<bounces@press.example.org>\r\nrcpt to:<p2@example.com>\r\nDATA\r\n"
    else:
        assert commands[0] == b"mail from:<bounces@press.example.org>\r\n"
    assert [r.recipients for r in smtp_server.received] == [("p1@example.com",), ("p2@example.com",)]


# -- TLS material made for the test (trustme) --------------------------------------------------------

@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


# -- SMTP: the happy path -------------------------------------------------------------------------------

def test_fifty_messages_over_one_connection(smtp_server):
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        results = [send(transport, f"ref{i:02d}") for i in range(50)]
        assert transport.connections == 1
    received = smtp_server.wait_for(50)
    assert smtp_server.connections == 1
    assert {r.connection for r in received} == {1}
    assert smtp_server.quits == 1  # close() said QUIT
    assert [r.code for r in results] == [250] * 50
    assert [r.reply for r in results] == [f"2.0.0 Ok: queued as {m.queue_id}" for m in received]
    assert len({r.reply for r in results}) == 50
    for i, got in enumerate(received):
        env = envelope(f"ref{i:02d}")
        assert got.sender == SENDER
        assert got.recipients == (env.recipient,)
        assert got.delivery == env.ref
        assert got.data == message(env)  # byte for byte, dots and all
    assert smtp_server.count_by_recipient() == {f"ref{i:02d}@example.com": 1 for i in range(50)}
    assert smtp_server.rsets == 0


def test_nothing_is_opened_before_the_first_send(smtp_server):
    transport = SMTPTransport(smtp_server.url)
    transport.close()
    assert transport.connections == 0 and smtp_server.connections == 0


# -- SMTP: refusals -------------------------------------------------------------------------------------

def test_deferred_at_rcpt_then_accepted(smtp_server):
    smtp_server.defer(to="slow@example.com", times=1, code=451, text="4.7.1 Greylisted, come back later")
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        with pytest.raises(TransientSendError) as caught:
            send(transport, "a1", "slow@example.com")
        assert (caught.value.code, caught.value.reply, caught.value.stage) == (
            451, "4.7.1 Greylisted, come back later", "rcpt")
        assert caught.value.verdict.action == "retry"
        assert send(transport, "a1", "slow@example.com").code == 250
    assert smtp_server.count_by_recipient() == {"slow@example.com": 1}
    assert smtp_server.connections == 1


def test_deferred_at_data_then_accepted(smtp_server):
    smtp_server.defer(to="slow@example.com", times=2, at="data", code=452, text="4.2.2 Mailbox full")
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        codes = []
        for _ in range(3):
            try:
                codes.append(send(transport, "a1", "slow@example.com").code)
            except TransientSendError as exc:
                assert exc.stage == "data"
                codes.append(exc.code)
    assert codes == [452, 452, 250]
    assert len(smtp_server.received) == 1


def test_refused_is_permanent_with_code_and_text(smtp_server):
    smtp_server.refuse(to="gone@example.com")
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        with pytest.raises(PermanentSendError) as caught:
            send(transport, "g1", "gone@example.com")
    error = caught.value
    assert (error.code, error.reply, error.stage) == (550, "5.1.1 user unknown", "rcpt")
    assert str(error) == "550 5.1.1 user unknown (at rcpt)"
    assert (error.verdict.action, error.verdict.hard, error.verdict.category) == ("bounce", True, "mailbox-unknown")
    assert smtp_server.received == []


def test_user_unknown_after_data_is_a_filter_not_a_dead_address(smtp_server):
    # RFC 5321 3.3: a server refuses an unknown recipient at RCPT TO. "User unknown" to the data
    # of a message whose recipient it accepted is its filter's answer (smtp_replies docstring).
    smtp_server.refuse_data(to="filtered@example.jp", code=550, text="5.1.1 <filtered@example.jp>: User unknown")
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        with pytest.raises(PermanentSendError) as caught:
            send(transport, "f1", "filtered@example.jp")
    error = caught.value
    assert (error.code, error.stage) == (550, "data")
    assert (error.verdict.action, error.verdict.hard, error.verdict.category) == ("bounce", False, "filtered")


def test_no_503_cascade_after_refusals_at_rcpt_and_data(smtp_server):
    smtp_server.refuse(to="gone@example.com")
    smtp_server.refuse_data(to="spam@example.com", code=554, text="5.7.1 Message rejected as spam")
    plan = []
    for i in range(30):
        recipient = {0: "gone@example.com", 1: "spam@example.com"}.get(i % 3, f"ok{i}@example.com")
        plan.append((f"r{i}", recipient))
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        results = outcomes(transport, plan)
    for (ref, recipient), result in zip(plan, results):
        if recipient == "gone@example.com":
            assert isinstance(result, PermanentSendError) and (result.code, result.stage) == (550, "rcpt")
        elif recipient == "spam@example.com":
            assert isinstance(result, PermanentSendError) and (result.code, result.stage) == (554, "data")
            assert result.verdict.hard is False
        else:
            assert isinstance(result, SendResult) and result.code == 250, result
    assert smtp_server.connections == 1  # RSET kept the connection usable
    assert smtp_server.rsets == 20
    assert {r.code for r in smtp_server.refusals} == {550, 554}  # never a 503
    assert sorted(smtp_server.count_by_recipient()) == sorted(r for _, r in plan if r.startswith("ok"))


def test_an_address_with_a_line_break_is_refused_before_any_command(smtp_server):
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        with pytest.raises(PermanentSendError) as caught:
            send(transport, "bad", "a@example.com>\r\nRCPT TO:<b@example.com")
        assert (caught.value.code, caught.value.stage) == (553, "rcpt")
        assert send(transport, "good").code == 250
    assert smtp_server.count_by_recipient() == {"good@example.com": 1}
    assert smtp_server.connections == 1


def test_a_failed_rset_means_a_new_connection(smtp_server):
    smtp_server.refuse(to="gone@example.com")
    smtp_server.fail_rset(times=1, code=500, text="5.5.1 RSET not today")
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        results = outcomes(transport, [("a", "gone@example.com"), ("b", "b@example.com"),
                                       ("c", "gone@example.com"), ("d", "d@example.com")])
        assert transport.connections == 2
    assert isinstance(results[0], PermanentSendError) and results[0].code == 550
    assert isinstance(results[2], PermanentSendError) and results[2].code == 550
    assert [results[1].code, results[3].code] == [250, 250]
    assert smtp_server.connections == 2
    assert [r.connection for r in smtp_server.received] == [2, 2]


def test_drop_mid_data_then_the_next_message_goes_through(smtp_server):
    smtp_server.drop_after(3)
    plan = [(f"m{i}", None) for i in range(10)]
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        results = outcomes(transport, plan)
    dropped = results[3]
    assert isinstance(dropped, TransientSendError)
    assert (dropped.code, dropped.stage) == (None, "data")
    assert dropped.verdict.category == "connection"
    assert [r.code for i, r in enumerate(results) if i != 3] == [250] * 9
    assert smtp_server.connections == 2
    assert [r.delivery for r in smtp_server.received] == [f"m{i}" for i in range(10) if i != 3]
    assert [r.connection for r in smtp_server.received] == [1, 1, 1] + [2] * 6


def test_a_connection_the_server_closed_is_replaced_without_an_error(smtp_server):
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        assert send(transport, "x1").code == 250
        smtp_server.drop_connections()  # as a relay's idle timeout would
        deadline = time.monotonic() + 5
        while smtp_server._live and time.monotonic() < deadline:  # wait for the server side to close
            time.sleep(0.01)
        assert send(transport, "x2").code == 250
    assert smtp_server.connections == 2
    assert [r.delivery for r in smtp_server.received] == ["x1", "x2"]


def test_timeout_is_transient_and_the_next_send_reconnects(smtp_server):
    smtp_server.delay(3.0, to="late@example.com")
    with SMTPTransport(smtp_server.url + "?timeout=0.5") as transport:
        started = time.monotonic()
        with pytest.raises(TransientSendError) as caught:
            send(transport, "t1", "late@example.com")
        assert time.monotonic() - started < 2.5
        assert (caught.value.code, caught.value.stage) == (None, "data")
        assert "timed out" in caught.value.reply
        assert send(transport, "t2", "ontime@example.com").code == 250
        assert transport.connections == 2
    assert smtp_server.connections == 2
    assert [r.delivery for r in smtp_server.received] == ["t2"]


def test_unreachable_server_is_transient(smtp_server):
    port = smtp_server.port
    smtp_server.stop()
    with pytest.raises(RelayUnavailable) as caught:
        send(SMTPTransport(f"smtp://127.0.0.1:{port}", timeout=2), "u1")
    assert caught.value.code is None and caught.value.stage == "connect"
    assert "cannot connect to 127.0.0.1" in caught.value.reply


def test_several_clients_at_once(smtp_server):
    smtp_server.delay(0.01)  # make the sessions overlap
    errors = []

    def worker(n: int) -> None:
        try:
            with SMTPTransport(smtp_server.url, timeout=10) as transport:
                for i in range(25):
                    assert send(transport, f"w{n}m{i}").code == 250
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(smtp_server.wait_for(100)) == 100
    assert smtp_server.connections == 4
    assert set(smtp_server.count_by_recipient().values()) == {1}


# -- SMTP: SMTPUTF8 ----------------------------------------------------------------------------------

def test_non_ascii_recipient_uses_smtputf8(smtp_server):
    env = Envelope(sender=SENDER, recipient="rédaction@exemple.fr", ref="u8", campaign_ref="c")
    body = "To: <rédaction@exemple.fr>\r\nX-Distribute-Delivery: u8\r\nSubject: x\r\n\r\nBonjour\r\n".encode()
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        assert transport.send(env, body).code == 250
    (got,) = smtp_server.received
    assert got.smtputf8 is True
    assert got.recipients == ("rédaction@exemple.fr",)
    assert got.data == body


def test_non_ascii_recipient_without_smtputf8_is_permanent():
    with SMTPTestServer(smtputf8=False) as server:
        env = Envelope(sender=SENDER, recipient="rédaction@exemple.fr", ref="u8", campaign_ref="c")
        body = "To: <rédaction@exemple.fr>\r\nSubject: x\r\n\r\nBonjour\r\n".encode()
        with SMTPTransport(server.url, timeout=5) as transport:
            with pytest.raises(PermanentSendError) as caught:
                transport.send(env, body)
            assert "server does not support SMTPUTF8" in caught.value.reply
            assert caught.value.code == 553
            assert caught.value.verdict.hard is False  # the address is fine; the path is not
            assert send(transport, "ascii").code == 250
        assert server.connections == 1
        assert [r.delivery for r in server.received] == ["ascii"]


# -- SMTP: AUTH and TLS ----------------------------------------------------------------------------------

def test_auth_with_the_right_password():
    with SMTPTestServer(auth=("press", "p@ss:word/1")) as server:
        assert "p%40ss%3Aword%2F1" in server.url  # URL-encoded in the URL...
        with SMTPTransport(server.url, timeout=5) as transport:
            assert transport.config.password == "p@ss:word/1"  # ...and decoded
            assert send(transport, "a1").code == 250
        assert [r.user for r in server.received] == ["press"]


def test_non_ascii_credentials_are_refused_clearly():
    with SMTPTestServer(auth=("press", "wörd")) as server:
        with pytest.raises(AuthenticationError) as caught:  # smtplib's AUTH takes ASCII only
            send(SMTPTransport(server.url, timeout=5), "a0")
        assert "must be ASCII" in caught.value.reply and "wörd" not in str(caught.value)


def test_auth_login_mechanism():
    with SMTPTestServer(auth=("press", "secret"), auth_mechanisms=("LOGIN",)) as server:
        with SMTPTransport(server.url, timeout=5) as transport:
            assert send(transport, "a1").code == 250
        assert server.received[0].user == "press"


def test_auth_with_a_wrong_password_fails_clearly():
    with SMTPTestServer(auth=("press", "secret")) as server:
        url = f"smtp://press:wrong@127.0.0.1:{server.port}"
        with pytest.raises(AuthenticationError) as caught:
            send(SMTPTransport(url, timeout=5), "a1")
        error = caught.value
        assert isinstance(error, RelayConfigError)  # our settings, not the message: a pipeline stops
        assert (error.code, error.stage) == (None, "auth")  # no reply to the message itself
        assert error.reply == (f"127.0.0.1:{server.port} refused the login of user 'press': "
                               "535 5.7.8 Authentication credentials invalid")
        assert "wrong" not in str(error)
        assert (error.verdict.action, error.verdict.category) == ("retry", "auth")
        assert server.received == []


def test_a_refused_login_closes_its_connection_at_once():
    with SMTPTestServer(auth=("press", "secret")) as server:
        transport = SMTPTransport(f"smtp://press:wrong@127.0.0.1:{server.port}", timeout=5)
        with pytest.raises(AuthenticationError) as caught:  # its traceback keeps the connection referenced
            send(transport, "a1")
        deadline = time.monotonic() + 5
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.open_connections == 0, caught.value  # closed, not left to the garbage collector
        transport.close()


def test_no_credentials_where_auth_is_required():
    with SMTPTestServer(auth=("press", "secret")) as server:
        with SMTPTransport(f"smtp://127.0.0.1:{server.port}", timeout=5) as transport:
            with pytest.raises(RelayConfigError) as caught:  # never a bounce of the recipient
                send(transport, "a1")
        assert (caught.value.code, caught.value.stage) == (530, "mail")
        assert caught.value.verdict.category == "auth" and caught.value.verdict.hard is False


def test_starttls_with_a_test_ca(server_tls, client_tls):
    with SMTPTestServer(tls_context=server_tls, auth=("press", "secret")) as server:
        url = f"smtp://press:secret@127.0.0.1:{server.port}?starttls=true"
        with SMTPTransport(url, timeout=5, ssl_context=client_tls) as transport:
            assert [send(transport, f"s{i}").code for i in range(3)] == [250] * 3
        assert [(r.tls, r.user) for r in server.received] == [(True, "press")] * 3
        assert server.connections == 1


def test_starttls_refuses_an_untrusted_certificate(server_tls):
    with SMTPTestServer(tls_context=server_tls) as server:
        url = f"smtp://127.0.0.1:{server.port}?starttls=true"
        with pytest.raises(RelayConfigError) as caught:
            send(SMTPTransport(url, timeout=5), "s1")  # the system's CAs do not know ours
        assert caught.value.stage == "starttls"
        assert "certificate" in caught.value.reply
        with SMTPTransport(url + "&verify=false", timeout=5) as transport:
            assert send(transport, "s2").code == 250
        assert [r.delivery for r in server.received] == ["s2"]


def test_starttls_asked_but_not_offered_is_not_sent_in_clear(smtp_server):
    with pytest.raises(RelayConfigError) as caught:
        send(SMTPTransport(smtp_server.url + "?starttls=true", timeout=5), "s1")
    assert caught.value.stage == "starttls" and "does not offer STARTTLS" in caught.value.reply
    assert smtp_server.received == []


def test_implicit_tls(server_tls, client_tls):
    with SMTPTestServer(tls_context=server_tls, implicit_tls=True) as server:
        assert server.url.startswith("smtps://")
        with SMTPTransport(f"smtps://127.0.0.1:{server.port}", timeout=5, ssl_context=client_tls) as transport:
            assert send(transport, "i1").code == 250
        assert server.received[0].tls is True


# -- the test server itself ---------------------------------------------------------------------------

def test_server_rules_by_predicate_newest_first(smtp_server):
    smtp_server.refuse(to=lambda address: address.endswith("@dead.example"))
    smtp_server.accept(to="revived@dead.example")  # newer: wins for this one address
    smtp_server.defer(to=lambda address: address.startswith("slow"), times=2)  # per address
    plan = [("a", "x@dead.example"), ("b", "revived@dead.example"),
            ("c", "slow1@example.com"), ("d", "slow2@example.com"),
            ("e", "slow1@example.com"), ("f", "slow1@example.com"), ("g", "slow2@example.com")]
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        results = outcomes(transport, plan)
    assert [r.code for r in results] == [550, 250, 451, 451, 451, 250, 451]
    assert smtp_server.count_by_recipient() == {"revived@dead.example": 1, "slow1@example.com": 1}
    assert [(r.stage, r.code) for r in smtp_server.refusals] == [("rcpt", 550)] + [("rcpt", 451)] * 4
    smtp_server.accept()  # forget every rule
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        assert send(transport, "h", "x@dead.example").code == 250


def test_a_client_in_another_process(smtp_server, tmp_path):
    # What a Celery worker does: it knows only DISTRIBUTE_SMTP_URL.
    script = tmp_path / "client.py"
    script.write_text(
        "import os, sys\n"
        "from distribute.transport.interface import Envelope\n"
        "from distribute.transport.smtp import SMTPTransport\n"
        "with SMTPTransport(os.environ['DISTRIBUTE_SMTP_URL'], timeout=5) as t:\n"
        "    for i in range(20):\n"
        "        ref = f'{sys.argv[1]}-{i}'\n"
        "        env = Envelope(sender='b@example.org', recipient=ref + '@example.com', ref=ref, campaign_ref='c')\n"
        "        t.send(env, f'X-Distribute-Delivery: {ref}\\r\\n\\r\\nhi\\r\\n'.encode())\n"
    )
    env = {**os.environ, "DISTRIBUTE_SMTP_URL": smtp_server.url}
    procs = [subprocess.Popen([sys.executable, str(script), f"p{n}"], env=env) for n in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    received = smtp_server.wait_for(40)
    assert sorted(r.delivery for r in received) == sorted(f"p{n}-{i}" for n in range(2) for i in range(20))
    assert smtp_server.connections == 2


def test_a_relay_going_away_is_told_apart_from_a_refused_message(smtp_server):
    """421 at any stage, or a connection lost before DATA: nothing of the message was taken and
    the relay, not the recipient, is at fault. Lost during DATA it may have been taken: plain
    transient (retried per message)."""
    smtp_server.defer(to="closing@example.com", code=421, text="4.3.2 service shutting down")
    with SMTPTransport(smtp_server.url, timeout=5) as transport:
        with pytest.raises(RelayUnavailable) as caught:
            send(transport, "g1", "closing@example.com")
        assert (caught.value.code, caught.value.stage) == (421, "rcpt")
        smtp_server.accept()
        smtp_server.drop_after(0)
        with pytest.raises(TransientSendError) as caught:
            send(transport, "g2", "someone@example.com")
        assert caught.value.stage == "data" and not isinstance(caught.value, RelayUnavailable)
        smtp_server.refuse(to="gone@example.com")
        with pytest.raises(PermanentSendError):  # the recipient's own refusal stays a bounce
            send(transport, "g3", "gone@example.com")
