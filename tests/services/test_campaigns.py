"""The sends service on both databases: who may do what, the audit log, the shapes returned."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from distribute.audience.segments import add_segment
from distribute.errors import Conflict, Forbidden, NotFound, UserError
from distribute.models import AuditEntry, Campaign, Contact, Delivery, Release, utcnow
from distribute.services import audit
from distribute.services import campaigns as sends
from distribute.services import stats
from distribute.services.actor import ADMIN, COMMS, VIEWER, Actor
from distribute.sending.fanout import start_campaign
from distribute.sending.sweeper import reconcile
from counter_helpers import forced
from conftest import NoBroker

UTC = ZoneInfo("UTC")
VIEWER_ACTOR = Actor("vi@example.org", VIEWER, None, "web")
COMMS_ACTOR = Actor("cy@example.org", COMMS, None, "web")
ADMIN_ACTOR = Actor("ada@example.org", ADMIN, None, "api")


@pytest.fixture
def world(db):
    """Six journalists, one of them unsubscribed, a segment of them, and a release."""
    with db.sessions.begin() as s:
        for i in range(6):
            s.add(Contact(email=f"j{i}@news.example", email_key=f"j{i}@news.example", name=f"J {i}", kind="journalist",
                          status="unsubscribed" if i == 5 else "active", attributes={}))
        s.flush()
        add_segment(s, "press", "kind = journalist")
        s.add(Release(slug="r", title="Title", body="Body\n", source_format="markdown", language="en",
                      contacts=[{"email": "press@example.org"}]))
    return db


def _create(db, actor=COMMS_ACTOR, **kw):
    kw.setdefault("targets", ["press"])
    kw.setdefault("variant", "journalist")
    with db.sessions.begin() as s:
        return sends.create(s, actor, "r", zone=UTC, **kw)


def _audit(db) -> list[tuple[str, str, str | None]]:
    with db.sessions() as s:
        return [(e.actor, e.action, e.target) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_viewer_reads_but_cannot_send_or_control(world):
    campaign = _create(world)
    with world.sessions.begin() as s:
        assert sends.dry_run(s, VIEWER_ACTOR, "r", ["press"])["recipients"] == 5
        assert [c["id"] for c in sends.list_campaigns(s, VIEWER_ACTOR)] == [campaign["id"]]
        assert sends.get(s, VIEWER_ACTOR, campaign["id"])["state"] == "scheduled"
        assert stats.campaign(s, VIEWER_ACTOR, campaign["id"])["campaign"] == campaign["id"]
    before = _audit(world)
    refused = [
        lambda s: sends.create(s, VIEWER_ACTOR, "r", targets=["press"], variant="journalist", zone=UTC, again=True),
        lambda s: sends.pause(s, VIEWER_ACTOR, campaign["id"]),
        lambda s: sends.resume(s, VIEWER_ACTOR, campaign["id"]),
        lambda s: sends.cancel(s, VIEWER_ACTOR, campaign["id"]),
        lambda s: sends.retry(s, VIEWER_ACTOR, campaign["id"]),
        lambda s: sends.start(VIEWER_ACTOR, None, [campaign["id"]]),
    ]
    for call in refused:
        with world.sessions.begin() as s, pytest.raises(Forbidden) as caught:
            call(s)
        assert caught.value.code == "forbidden"
    with world.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1
        assert s.get(Campaign, campaign["id"]).state == "scheduled"
    assert _audit(world) == before


def test_create_returns_the_confirmation_numbers_and_is_audited(world):
    with world.sessions.begin() as s:
        dry = sends.dry_run(s, COMMS_ACTOR, "r", ["press"])
    assert {k: dry[k] for k in ("recipients", "matched", "inactive", "already_have")} == {
        "recipients": 5, "matched": 6, "inactive": 1, "already_have": 0}
    assert dry["audience"] == {"segments": ["press"], "lists": [], "test": []} and len(dry["sample"]) == 5
    created = _create(world)
    assert created["release"] == "r" and created["state"] == "scheduled" and created["due"] is True
    assert created["recipients"] == 5 and created["audience_counts"]["recipients"] == dry["recipients"]
    assert created["audience"] == dry["audience"]
    [(who, action, target)] = _audit(world)
    assert (who, action, target) == ("cy@example.org", "campaign.create", f"campaign:{created['id']}")
    with world.sessions() as s:
        [entry] = audit.entries(s, ADMIN_ACTOR)
    assert entry["via"] == "web" and entry["detail"]["release"] == "r" and entry["detail"]["variant"] == "journalist"


def test_refusals_name_the_field_and_store_nothing(world):
    with world.sessions() as s, pytest.raises(NotFound) as caught:
        sends.get(s, COMMS_ACTOR, 999)
    assert caught.value.field == "campaign"
    with pytest.raises(UserError) as caught:
        _create(world, at_embargo=True)
    assert caught.value.field == "at" and caught.value.code == "no_embargo"
    first = _create(world)
    with pytest.raises(Conflict) as caught:
        _create(world)
    assert caught.value.code == "already_sent" and caught.value.field == "again"
    assert f"campaign {first['id']}" in str(caught.value) and "--again" not in str(caught.value)
    with world.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1
    assert [action for _, action, _ in _audit(world)] == ["campaign.create"]


def test_at_the_embargo(world):
    embargo = (utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
    with world.sessions.begin() as s:
        s.scalar(select(Release)).embargo_until = embargo
    created = _create(world, at_embargo=True)
    assert created["due"] is False
    assert dt.datetime.fromisoformat(created["scheduled_at"]) == embargo


def test_pause_resume_cancel_are_audited_and_return_where_it_stands(world):
    later = (utcnow() + dt.timedelta(days=1)).isoformat()
    campaign_id = _create(world, at=later)["id"]
    with world.sessions.begin() as s:
        paused = sends.pause(s, COMMS_ACTOR, campaign_id)
    assert paused["state"] == "paused" and paused["reason"] == "paused by cy@example.org"
    with world.sessions.begin() as s, pytest.raises(Conflict):
        sends.pause(s, COMMS_ACTOR, campaign_id)
    with world.sessions.begin() as s:
        resumed = sends.resume(s, ADMIN_ACTOR, campaign_id)
    assert resumed["state"] == "scheduled" and resumed["due"] is False
    with world.sessions.begin() as s:
        cancelled = sends.cancel(s, COMMS_ACTOR, campaign_id)
    assert cancelled == {"campaign": campaign_id, "state": "cancelled", "cancelled": 0, "sent": 0, "in_hand": 0}
    with world.sessions.begin() as s, pytest.raises(Conflict):
        sends.retry(s, COMMS_ACTOR, campaign_id)  # a cancelled campaign stays cancelled
    assert [(who, action) for who, action, _ in _audit(world)] == [
        ("cy@example.org", "campaign.create"), ("cy@example.org", "campaign.pause"),
        ("ada@example.org", "campaign.resume"), ("cy@example.org", "campaign.cancel")]


def test_list_pages_back_by_id(world):
    ids = [_create(world, again=True)["id"] for _ in range(3)]
    with world.sessions() as s:
        first = sends.list_campaigns(s, VIEWER_ACTOR, limit=2)
        rest = sends.list_campaigns(s, VIEWER_ACTOR, limit=2, before=first[-1]["id"])
    assert [c["id"] for c in first] == ids[::-1][:2] and [c["id"] for c in rest] == ids[:1]
    assert set(first[0]) >= {"id", "release", "variant", "state", "reason", "audience", "test", "recipients",
                             "scheduled_at", "started_at", "finished_at", "created_at"}


def test_send_now_watch_it_and_read_its_stats(world, settings):
    campaign_id = _create(world)["id"]
    with world.sessions() as s:
        before = sends.watch(s, VIEWER_ACTOR, [campaign_id])
    assert before["done"] == 0 and before["active"] is True
    assert before["campaigns"] == [{"id": campaign_id, "state": "scheduled", "reason": None, "waiting": None}]
    sends.run_embedded(COMMS_ACTOR, settings, [campaign_id], lambda session: None)
    with world.sessions() as s:
        after = sends.watch(s, VIEWER_ACTOR, [campaign_id])
        result = stats.campaign(s, VIEWER_ACTOR, campaign_id)
        [seen] = sends.activity(s, VIEWER_ACTOR, utcnow() - dt.timedelta(hours=1), [])
    assert (after["done"], after["total"], after["active"]) == (6, 6, False)  # one row records the unsubscribed
    assert result["counts"]["sent"] == 5 and result["state"] == "sent" and set(result) >= {"feedback", "links", "domains"}
    assert seen == {"id": campaign_id, "state": "sent", "reason": None, "waiting": None, "counts": {"sent": 5, "suppressed": 1}}
    with world.sessions.begin() as s:
        assert sends.retry(s, COMMS_ACTOR, campaign_id) == {"campaign": campaign_id, "requeued": 0}
    with pytest.raises(Forbidden):
        sends.run_embedded(VIEWER_ACTOR, settings, [campaign_id], lambda session: None)


def test_a_row_given_back_after_a_cancel_is_not_settled_until_the_sweep_cancels_it(world, settings):
    """A worker can give a row back to the queue just while a cancel is writing, so that neither
    sees the other: `cancel_outcome` counts it in hand (the CLI waits for it), and the next sweep
    cancels it."""
    campaign_id = _create(world)["id"]
    start_campaign(world.sessions, settings, NoBroker(), campaign_id)
    with world.sessions.begin() as s:
        assert sends.cancel(s, COMMS_ACTOR, campaign_id)["in_hand"] == 0
        straggler = s.scalar(select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.state == "cancelled"))
        forced(s, update(Delivery).where(Delivery.id == straggler).values(state="queued"))
    with world.sessions.begin() as s:
        assert sends.cancel_outcome(s, VIEWER_ACTOR, campaign_id) | {"campaign": None} == {
            "campaign": None, "state": "cancelled", "cancelled": 4, "sent": 0, "in_hand": 1}
    assert reconcile(world.sessions, settings, NoBroker())["cancelled"] == 1
    with world.sessions.begin() as s:
        after = sends.cancel_outcome(s, VIEWER_ACTOR, campaign_id)
    assert (after["cancelled"], after["in_hand"]) == (5, 0)
