"""The bounce mailbox: only a signed token has an effect; unsigned matches and reports about
another address are kept as events only; mailto unsubscribes; VERP tokens fit and survive case."""

from __future__ import annotations

import mailbox

import pytest
from sqlalchemy import select

from distribute import states
from distribute.feedback import Signal, record
from distribute.inbound import process_mailbox
from distribute.models import Delivery, Event, Suppression
from distribute.tracking import Tokens
from web_helpers import BASE32, respell, send_release, tamper

JOURNALIST = "j.okafor@globalwire.example"


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
    with db.sessions.begin() as s:
        d = s.scalar(select(Delivery).where(Delivery.email == JOURNALIST))
        d.state = states.DELIVERY_SENDING
    with db.sessions.begin() as s:
        record(s, Signal(type="delivered", source="sendgrid", delivery_id=d.id, dedupe_key="sg:1"), settings)
        record(s, Signal(type="bounced", source="dsn", delivery_id=d.id, bounce_kind="hard", reason="x"), settings)
    d, suppressed, _ = _state(db)
    assert d.state == states.DELIVERY_SENDING and suppressed is None
