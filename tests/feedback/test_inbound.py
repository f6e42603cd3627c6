"""The bounce mailbox: only a signed token has an effect; unsigned matches and reports about
another address are kept as events only; mailto unsubscribes; VERP tokens fit and survive case."""

from __future__ import annotations

import mailbox

import hostile
import pytest
from sqlalchemy import select, update

from distribute import states
from distribute.feedback.events import Signal, record
from distribute.feedback.inbound import process_mailbox
from distribute.models import Delivery, Event, Suppression
from distribute.signing import Tokens
from web_helpers import BASE32, respell, send_release, tamper
from counter_helpers import counters_exact_after, forced  # noqa: F401  (autouse: counters equal a recount after each test)

JOURNALIST = "j.okafor@globalwire.example"
ANOTHER = "sofia.reyes@eldiario-sur.example"


@pytest.fixture
def sent(run_cli, settings, tmp_path):
    return send_release(run_cli, tmp_path / "outbox", settings=settings)


def _dsn(to: str, recipient: str, original_headers: str) -> bytes:
    return (f"From: MAILER-DAEMON@mx.example\nTo: {to}\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
            "--b\nContent-Type: text/plain\n\nNot delivered.\n"
            f"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
            f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n"
            f"--b\nContent-Type: text/rfc822-headers\n\n{original_headers}\n--b--\n").encode()


def _signed_dsn(settings, sent, address: str) -> bytes:
    """A DSN sent back to the VERP address of our message to `address`: it takes effect."""
    local, _, domain = settings.bounce_mailbox_address.partition("@")
    token = Tokens(settings.secret).verp(sent.messages[address]["X-Distribute-Delivery"])
    return _dsn(f"{local}+{token}@{domain}", address, "Subject: x")


def _process(db, settings, tmp_path, *messages: bytes) -> dict:
    box = mailbox.Maildir(tmp_path / "box", create=True)
    for m in messages:
        box.add(m)
    return process_mailbox(db.sessions, settings, str(tmp_path / "box")).as_dict()


def _state(db, address=JOURNALIST):
    with db.sessions() as s:
        d = s.scalar(select(Delivery).where(Delivery.email == address))
        suppressed = s.scalar(select(Suppression.source).where(Suppression.email_key == address))
        events = s.scalars(select(Event).where(Event.delivery_id == d.id, Event.type != "sent")).all()
    return d, suppressed, events


def test_verp_tokens_are_short_signed_and_case_free(settings):
    tokens = Tokens(settings.secret)
    ref = "vRXNZd0WZSHB6CEl"
    token = tokens.verp(ref)
    assert len(f"{settings.bounce_mailbox_address.split('@')[0]}+{token}") <= 64  # RFC 5321 local part
    assert tokens.read_verp(token) == ref and tokens.read_verp(token.upper()) == ref
    body, mac = token.split("-")
    # A changed MAC or reference, and the same reference spelt another way (an unused bit flipped).
    for edited in (f"{body}-{tamper(mac, BASE32)}", f"{tamper(body, BASE32)}-{mac}", f"{respell(body, BASE32)}-{mac}"):
        assert tokens.read_verp(edited) is None, edited
    assert Tokens("another-secret").read_verp(token) is None


def test_a_dsn_matched_only_by_our_unsigned_header_changes_nothing(db, settings, sent, tmp_path):
    ref = sent.messages[JOURNALIST]["X-Distribute-Delivery"]
    # Sent to the plain bounce address (no token), quoting only the delivery header: anyone who
    # saw the message (a forwardee, a reply) could write this.
    report = _process(db, settings, tmp_path, _dsn(settings.bounce_mailbox_address, JOURNALIST,
                                                   f"X-Distribute-Delivery: {ref}\nSubject: x"))
    assert report["recorded"] == 1
    d, suppressed, events = _state(db)
    assert d.state == states.DELIVERED and suppressed is None
    assert [(e.type, e.data["unverified"], e.data["matched_by"]) for e in events] == [("bounced", True, "header")]


def test_a_signed_dsn_about_another_address_does_not_suppress_ours(db, settings, sent, tmp_path):
    ref = sent.messages[JOURNALIST]["X-Distribute-Delivery"]
    local, _, domain = settings.bounce_mailbox_address.partition("@")
    to = f"{local}+{Tokens(settings.secret).verp(ref)}@{domain}"
    _process(db, settings, tmp_path, _dsn(to, "forwarded-to@elsewhere.example", "Subject: x"))
    d, suppressed, _ = _state(db)
    assert d.state == states.DELIVERED and suppressed is None
    # The same, about our own recipient, takes effect.
    _process(db, settings, tmp_path, _dsn(to.upper(), JOURNALIST, "Subject: y"))
    d, suppressed, _ = _state(db)
    assert d.state == states.BOUNCED and suppressed == "hard-bounce"


def test_mailto_unsubscribe(db, settings, sent, tmp_path):
    header = str(sent.messages[JOURNALIST]["List-Unsubscribe"])
    token = header.split("subject=unsubscribe%20", 1)[1].split(">", 1)[0]
    request = f"From: {JOURNALIST}\nTo: unsubscribe@example.org\nSubject: unsubscribe {token}\n\n".encode()
    value, signature = token.rsplit(".", 1)
    forged = f"From: x@y.example\nTo: unsubscribe@example.org\nSubject: unsubscribe {value}.{tamper(signature)}\n\n".encode()
    report = _process(db, settings, tmp_path, request, forged)
    assert report["recorded"] == 1 and report["ignored"] == {"other": 1}
    d, suppressed, _ = _state(db)
    assert d.unsubscribed_at is not None and suppressed == "unsubscribe"


def test_feedback_never_takes_a_row_from_a_worker(db, settings, sent):
    with db.sessions.begin() as s:  # a worker holds it (sent again: a state made by hand)
        d = s.scalar(select(Delivery).where(Delivery.email == JOURNALIST))
        forced(s, update(Delivery).where(Delivery.id == d.id).values(state=states.DELIVERY_SENDING))
    with db.sessions.begin() as s:
        record(s, Signal(type="delivered", source="sendgrid", delivery_id=d.id, dedupe_key="sg:1"), settings)
        record(s, Signal(type="bounced", source="dsn", delivery_id=d.id, bounce_kind="hard", reason="x"), settings)
    d, suppressed, _ = _state(db)
    assert d.state == states.DELIVERY_SENDING and suppressed is None


def test_hostile_messages_in_the_mailbox_cost_little_and_hide_nothing(db, settings, sent, tmp_path):
    attacks = [hostile.MESSAGES[name]() for name in (
        "50 KB of '-'", "40 KB of newlines", "5,000 X-Failed-Recipients over a 100 KB report",
        "multipart 800 deep over 100,000 lines")]
    # A 900 KB subject: read by the mailto-unsubscribe check as well.
    attacks.append(f"From: x@y.example\nSubject: {'550 ' * 225_000}\n\nhello\n".encode())
    with hostile.deadline(2 * (len(attacks) + 1)):  # each took 7 s to minutes before
        report = _process(db, settings, tmp_path, *attacks, _signed_dsn(settings, sent, JOURNALIST))
    assert (report["messages"], report["recorded"], report["errors"]) == (6, 1, [])
    d, suppressed, _ = _state(db)
    assert d.state == states.BOUNCED and suppressed == "hard-bounce"


def test_a_message_over_the_size_limit_is_named_and_ignored_and_nothing_else_is_lost(db, settings, sent, tmp_path,
                                                                                      run_cli):
    box = mailbox.Maildir(tmp_path / "box", create=True)
    # A signed report that would suppress ANOTHER if it were read, past DISTRIBUTE_BOUNCE_MAX_BYTES.
    big = _signed_dsn(settings, sent, ANOTHER) + b"x" * 1_000_000  # the default limit
    big_key = box.add(big)
    box.add(_signed_dsn(settings, sent, JOURNALIST))
    result = run_cli("bounces", "process", tmp_path / "box")
    assert result.exit_code == 0, result.output
    assert "2 messages: 1 recorded" in result.output and "ignored: 1 too-big" in result.output
    assert (f"maildir:new/{big_key}: {len(big):,} bytes, over DISTRIBUTE_BOUNCE_MAX_BYTES (1,000,000): not read"
            in result.output)
    assert _state(db, JOURNALIST)[1] == "hard-bounce"
    assert _state(db, ANOTHER)[1] is None and _state(db, ANOTHER)[2] == []
    # Kept as it came, marked seen: a person can look at it; the next reading skips it.
    (kept,) = (tmp_path / "box" / "cur").glob(f"{big_key}:2,S")
    assert kept.read_bytes() == big
    assert process_mailbox(db.sessions, settings, str(tmp_path / "box")).messages == 0
