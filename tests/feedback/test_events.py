"""distribute.feedback.events: every signal an append-only event, the delivery's summary moved only by
the transition table, duplicates and late signals no-ops, and the suppression policy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, update

from distribute import states
from distribute.feedback.events import DUPLICATE, RECORDED, UNMATCHED, Signal, purge_raw, record
from distribute.models import Contact, Delivery, Event, Suppression
from web_helpers import send_release
from counter_helpers import counters_exact_after, forced  # noqa: F401  (autouse: counters equal a recount after each test)

JOURNALIST = "j.okafor@globalwire.example"


@pytest.fixture
def sent(run_cli, settings, tmp_path):
    return send_release(run_cli, tmp_path / "outbox", settings=settings)


def _rec(db, settings, signal):
    with db.sessions.begin() as s:
        return record(s, signal, settings)


def _d(db, address=JOURNALIST):
    with db.sessions() as s:
        return s.scalar(select(Delivery).where(Delivery.email == address).order_by(Delivery.id.desc()))


def test_feedback_moves_follow_the_transition_table():
    assert states.feedback_target(states.DELIVERED, "bounced") == states.BOUNCED
    assert states.feedback_target(states.DELIVERED, "complained") == states.COMPLAINED
    assert states.feedback_target(states.UNKNOWN, "delivered") == states.DELIVERED
    # Late: nothing leaves a final state.
    assert states.feedback_target(states.BOUNCED, "delivered") is None
    assert states.feedback_target(states.COMPLAINED, "bounced") is None
    assert states.feedback_target(states.DELIVERED, "opened") is None
    for state in (states.BOUNCED, states.COMPLAINED, states.SUPPRESSED, states.DELIVERY_CANCELLED):
        for type_ in states.FEEDBACK_TYPES:
            assert states.feedback_target(state, type_) is None


def test_a_webhook_twice_is_recorded_once(db, settings, sent):
    d = _d(db)
    signal = Signal(type="bounced", source="sendgrid", delivery_id=d.id, dedupe_key="sendgrid:ev-1",
                    bounce_kind="hard", reason="550 5.1.1 user unknown", raw={"event": "bounce"})
    assert _rec(db, settings, signal) == RECORDED
    assert _rec(db, settings, signal) == DUPLICATE
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "bounced")) == 1
    assert _d(db).state == states.BOUNCED and _d(db).bounce_kind == "hard"


def test_a_late_delivered_after_bounced_changes_nothing(db, settings, sent):
    d = _d(db)
    _rec(db, settings, Signal(type="bounced", source="dsn", delivery_id=d.id, bounce_kind="soft", reason="mailbox full"))
    assert _rec(db, settings, Signal(type="delivered", source="ses", delivery_id=d.id, dedupe_key="ses:x")) == RECORDED
    after = _d(db)
    assert after.state == states.BOUNCED and after.bounce_kind == "soft"
    with db.sessions() as s:  # kept as an event all the same: the log is append-only
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "delivered")) == 1


def test_an_unknown_outcome_is_settled_by_a_later_signal(db, settings, sent):
    d = _d(db)
    with db.sessions.begin() as s:
        forced(s, update(Delivery).where(Delivery.id == d.id).values(state=states.UNKNOWN, sent_at=None))
    _rec(db, settings, Signal(type="delivered", source="mailgun", delivery_id=d.id, dedupe_key="mg:1"))
    assert _d(db).state == states.DELIVERED and _d(db).sent_at is not None


def test_a_signal_for_no_delivery_is_ignored(db, settings, sent):
    assert _rec(db, settings, Signal(type="complained", source="arf", ref="not-a-ref")) == UNMATCHED
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 0


def test_bounce_policy(db, settings, sent):
    expected = {"h.ali@capitolreport.example": ("hard", True), "sofia.reyes@eldiario-sur.example": ("soft", False),
                JOURNALIST: ("block", False)}
    for address, (kind, _) in expected.items():
        _rec(db, settings, Signal(type="bounced", source="dsn", delivery_id=_d(db, address).id, bounce_kind=kind, reason="x"))
    with db.sessions() as s:
        for address, (kind, suppressed) in expected.items():
            source = s.scalar(select(Suppression.source).where(Suppression.email_key == address))
            assert source == ("hard-bounce" if suppressed else None), kind
            assert s.scalar(select(Contact.status).where(Contact.email_key == address)) == ("bounced" if suppressed else "active")


def test_complaint_suppresses_at_once(db, settings, sent):
    d = _d(db)
    _rec(db, settings, Signal(type="complained", source="arf", delivery_id=d.id, dedupe_key="arf:1"))
    assert _d(db).state == states.COMPLAINED and _d(db).complained_at is not None
    with db.sessions() as s:
        assert s.scalar(select(Suppression.source).where(Suppression.email_key == JOURNALIST)) == "complaint"


def test_soft_bounces_suppress_after_n_campaigns_in_a_row(db, settings, run_cli, sent):
    settings = settings.model_copy(update={"soft_bounce_campaigns": 2})
    _rec(db, settings, Signal(type="bounced", source="dsn", delivery_id=_d(db).id, bounce_kind="soft", reason="full"))
    assert run_cli("send", "1", "--to", "rights", "--again").exit_code == 0
    with db.sessions() as s:
        assert s.scalar(select(Suppression).where(Suppression.email_key == JOURNALIST)) is None
    _rec(db, settings, Signal(type="bounced", source="dsn", delivery_id=_d(db).id, bounce_kind="soft", reason="full"))
    with db.sessions() as s:
        assert s.scalar(select(Suppression.source).where(Suppression.email_key == JOURNALIST)) == "soft-bounce"


def test_the_next_campaign_skips_a_hard_bounced_or_complaining_address(db, settings, run_cli, sent):
    other = "sofia.reyes@eldiario-sur.example"
    _rec(db, settings, Signal(type="bounced", source="dsn", delivery_id=_d(db).id, bounce_kind="hard", reason="5.1.1"))
    _rec(db, settings, Signal(type="complained", source="arf", delivery_id=_d(db, other).id))
    result = run_cli("send", "1", "--to", "rights", "--again", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    with db.sessions() as s:
        second = {d.email: d.state for d in s.scalars(select(Delivery).where(Delivery.campaign_id == stats["campaign"]))}
    assert second[JOURNALIST] == states.SUPPRESSED and second[other] == states.SUPPRESSED
    assert sum(1 for state in second.values() if state == states.DELIVERED) == stats["recipients"] - 2


def test_purge_drops_raw_data_but_keeps_events(db, settings, sent):
    d = _d(db)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=settings.retention_days + 1)
    _rec(db, settings, Signal(type="opened", source="pixel", delivery_id=d.id, at=old, user_agent="UA", ip="198.51.100.7"))
    _rec(db, settings, Signal(type="clicked", source="link", delivery_id=d.id, user_agent="UA", ip="2001:db8:1:2::9",
                              raw={"x": 1}))
    with db.sessions.begin() as s:
        assert purge_raw(s, settings) == 1
    with db.sessions() as s:
        events = {e.type: e for e in s.scalars(select(Event).where(Event.delivery_id == d.id))}
    assert events["opened"].ip is None and events["opened"].user_agent is None
    assert events["clicked"].ip == "2001:db8:1::" and events["clicked"].raw == {"x": 1}
    assert _d(db).opens == 1


def _old_and_new_events(db, settings) -> None:
    """An open past the retention and a click within it, both with raw data."""
    d = _d(db)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=settings.retention_days, hours=1)
    _rec(db, settings, Signal(type="opened", source="pixel", delivery_id=d.id, at=old, user_agent="UA",
                              ip="198.51.100.7", raw={"ip": "198.51.100.7"}))
    _rec(db, settings, Signal(type="clicked", source="link", delivery_id=d.id, user_agent="UA", ip="198.51.100.7"))


def _raw_left(db) -> dict[str, bool]:
    with db.sessions() as s:
        return {e.type: e.ip is not None or e.user_agent is not None or e.raw is not None
                for e in s.scalars(select(Event).where(Event.type.in_(("opened", "clicked"))))}


def test_purge_command(db, settings, sent, run_cli):
    _old_and_new_events(db, settings)
    assert "purge" in run_cli("--help").output and "RETENTION_DAYS" in run_cli("purge", "--help").output
    result = run_cli("purge", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["events"], report["retention_days"]) == (1, settings.retention_days)
    assert dt.datetime.fromisoformat(report["before"]) < dt.datetime.now(dt.UTC) - dt.timedelta(days=89)
    assert _raw_left(db) == {"opened": False, "clicked": True}
    again = run_cli("purge")
    assert again.exit_code == 0 and "purged raw tracking data from 0 events older than 90 days" in again.output


def test_the_embedded_loop_purges_too(db, settings, sent, run_cli):
    """`distribute send` without a broker runs what beat would: the retention purge as well."""
    _old_and_new_events(db, settings)
    assert run_cli("send", "1", "--to", "rights", "--again").exit_code == 0
    assert _raw_left(db) == {"opened": False, "clicked": True}


def test_distribute_run_purges(db, settings, sent, tmp_path):
    _old_and_new_events(db, settings)
    env = {**os.environ, "DISTRIBUTE_DATABASE_URL": db.url, "DISTRIBUTE_SECRET_KEY": "test-secret-key-for-distribute-tests"}
    run = subprocess.Popen([sys.executable, "-c", "from distribute.cli import main; main()", "run"], cwd=tmp_path,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while _raw_left(db)["opened"] and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.2)
        assert _raw_left(db) == {"opened": False, "clicked": True}
    finally:
        run.send_signal(signal.SIGINT)  # Ctrl-C
        output = run.communicate(timeout=60)[0]
    assert "stopped" in output, output


def _provider_events(provider: str, name: str, keys) -> list:
    """The fixture's events as the webhook parser makes them, signed as each provider signs."""
    import webhook_helpers as w

    payload = w.fixture(provider, name)
    if provider == "ses":
        key, pem = keys["ses"]
        return w.post_ses(w.sign_sns(w.notification(payload), key), w.CertFetcher(pem)).events
    if provider == "sendgrid":
        key, public = keys["sendgrid"]
        body = json.dumps(payload).encode()
        return w.post_sendgrid(body, w.sendgrid_headers(key, body), public).events
    if provider == "mailgun":
        return w.post_mailgun(w.mailgun_body(payload)).events
    return w.post_postmark(payload).events


def _strings(data) -> list[str]:
    if isinstance(data, dict):
        return [s for value in data.values() for s in _strings(value)]
    if isinstance(data, list):
        return [s for value in data for s in _strings(value)]
    return [data] if isinstance(data, str) else []


@pytest.mark.parametrize("provider, name", [
    ("mailgun", "opened.json"), ("mailgun", "clicked.json"), ("mailgun", "unsubscribed.json"),
    ("mailgun", "delivered.json"), ("sendgrid", "events.json"), ("postmark", "open.json"),
    ("postmark", "click.json"), ("ses", "open.json"), ("ses", "click.json"),
])
def test_ips_in_a_stored_raw_payload_are_truncated(db, settings, sent, provider, name, sns_key, sendgrid_key):
    """The raw payload keeps a client's IP no more exactly than the event's ip column does,
    whatever the provider calls the field (Mailgun "ip", SendGrid "ip", Postmark Geo "IP", SES
    "ipAddress")."""
    from distribute.feedback.engagement import truncate_ip
    from distribute.feedback.esp import to_signal

    events = _provider_events(provider, name, {"ses": sns_key, "sendgrid": sendgrid_key})
    sent_ips = {s for e in events for s in _strings(e.raw) if truncate_ip(s)}
    assert sent_ips, "the fixture carries an IP address"
    ref = _d(db).ref
    for event in events:
        assert _rec(db, settings, dataclasses.replace(to_signal(event, settings.sender_domain), ref=ref)) == RECORDED
    with db.sessions() as s:
        stored = s.execute(select(Event.raw, Event.ip).where(Event.source == provider)).all()
    assert len(stored) == len(events)
    kept = {s for raw, _ in stored for s in _strings(raw) if truncate_ip(s)}
    assert kept == {truncate_ip(ip) for ip in sent_ips}
    assert all(ip not in json.dumps([raw for raw, _ in stored]) for ip in sent_ips - kept)
    assert all(ip is None or ip in kept for _, ip in stored)


def test_signal_validation():
    with pytest.raises(ValueError):
        Signal(type="exploded", source="x")
    with pytest.raises(ValueError):
        Signal(type="bounced", source="x")  # a bounce needs a kind
