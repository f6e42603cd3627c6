"""The results service on both databases: a page of recipients, one recipient's events, outlets,
the time chart, the export, and the admins' overview against the providers' thresholds."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from distribute.deliveries.recount import repair
from distribute.errors import Forbidden, NotFound, UserError
from distribute.models import Campaign, Delivery, Event, Release, utcnow
from distribute.services import stats
from distribute.services.actor import ADMIN, COMMS, VIEWER, Actor

VIEWER_ACTOR, COMMS_ACTOR, ADMIN_ACTOR = (Actor(f"{r}@example.org", r, None, "web") for r in (VIEWER, COMMS, ADMIN))
HOUR = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def campaign(db):
    """One campaign of 120 recipients: 100 sent over two hours, 3 bounced, 1 complained, the rest
    queued; opens and clicks in the second hour; outlets A (70) and B (50)."""
    with db.sessions.begin() as s:
        s.add(Release(slug="r", title="T", body="B\n", source_format="markdown", language="en", contacts=[]))
        s.flush()
        s.add(Campaign(ref="c1", release_id=1, variant="journalist", state="sending", audience={"segments": ["x"]},
                       scheduled_at=HOUR, compiled={"links": ["https://example.org/a"]}))
        s.flush()
        rows = []
        for i in range(120):
            state = "sent" if i < 100 else "bounced" if i < 103 else "complained" if i == 103 else "queued"
            rows.append({"campaign_id": 1, "ref": f"d{i}", "email": f"p{i:03d}@x{i % 3}.example",
                         "email_key": f"p{i:03d}@x{i % 3}.example", "domain": f"x{i % 3}.example",
                         "outlet": "A" if i < 70 else "B", "state": state, "updated_at": HOUR,
                         "sent_at": HOUR + dt.timedelta(minutes=i) if state in ("sent", "complained") else None,
                         "last_code": 550 if state == "bounced" else 250, "last_reply": "5.1.1 no such user" if state == "bounced" else "2.0.0 ok",
                         "first_opened_at": HOUR + dt.timedelta(minutes=70) if i < 10 else None, "opens": 1 if i < 10 else 0})
        s.execute(insert(Delivery), rows)
        s.execute(insert(Event), [{"delivery_id": i + 1, "campaign_id": 1, "type": "opened", "source": "pixel",
                                   "at": HOUR + dt.timedelta(minutes=70), "data": {}} for i in range(10)]
                  + [{"delivery_id": 1, "campaign_id": 1, "type": "clicked", "source": "link",
                      "at": HOUR + dt.timedelta(minutes=75), "data": {"link": 0}}])
        repair(s, 1, log_fixes=False)  # rows made by hand: their counters as the recount makes them
    return db


def test_recipients_page_by_id_and_search_by_the_start_of_the_address(campaign):
    with campaign.sessions() as s:
        first = stats.recipients(s, VIEWER_ACTOR, 1, limit=50)
        second = stats.recipients(s, VIEWER_ACTOR, 1, limit=50, after=first["next_after"])
        last = stats.recipients(s, VIEWER_ACTOR, 1, limit=50, after=second["next_after"])
        found = stats.recipients(s, VIEWER_ACTOR, 1, search="P10")
        bounced = stats.recipients(s, VIEWER_ACTOR, 1, state="bounced")
    emails = [r["email"] for page in (first, second, last) for r in page["recipients"]]
    assert len(emails) == len(set(emails)) == 120 and last["next_after"] is None
    assert [r["email"] for r in found["recipients"]] == [f"p{i}@x{i % 3}.example" for i in range(100, 110)]
    assert [r["state"] for r in bounced["recipients"]] == ["bounced"] * 3 and bounced["recipients"][0]["code"] == 550


def test_one_recipient_with_its_events_and_its_reply(campaign):
    with campaign.sessions() as s:
        person = stats.recipient(s, VIEWER_ACTOR, 1, 1)
        with pytest.raises(NotFound):
            stats.recipient(s, VIEWER_ACTOR, 1, 9999)
    assert person["reply"] == "2.0.0 ok" and [e["type"] for e in person["events"]] == ["opened", "clicked"]


def test_the_results_page_data_outlets_and_the_time_chart(campaign):
    with campaign.sessions() as s:
        data = stats.results(s, VIEWER_ACTOR, 1)
        with pytest.raises(UserError):
            stats.timeline(s, VIEWER_ACTOR, 1, unit="week")
        by_hour = stats.timeline(s, VIEWER_ACTOR, 1, unit="hour")
    assert data["recipients_detail"] == [] and data["counts"]["sent"] == 100
    assert data["outlets"] == [{"outlet": "A", "total": 70, "sent": 70, "bounced": 0, "opened": 10, "clicked": 0},
                               {"outlet": "B", "total": 50, "sent": 31, "bounced": 3, "opened": 0, "clicked": 0}]
    # sent more than three days ago: the page charts days
    assert data["timeline"] == {"unit": "day", "buckets": [
        {"at": "2026-11-25T00:00:00Z", "sent": 101, "opened": 10, "clicked": 1}]}
    assert by_hour == [{"at": "2026-11-25T09:00:00Z", "sent": 60, "opened": 0, "clicked": 0},
                       {"at": "2026-11-25T10:00:00Z", "sent": 41, "opened": 10, "clicked": 1}]


def test_the_export_has_every_recipient_once(campaign):
    with campaign.sessions() as s:
        columns, rows = stats.export(s, VIEWER_ACTOR, 1)
        rows = list(rows)
    assert columns[0] == "email" and len(rows) == 120 and len({r["email"] for r in rows}) == 120


def test_the_overview_is_for_admins_and_names_what_crossed_a_threshold(campaign):
    with campaign.sessions() as s:
        for actor in (VIEWER_ACTOR, COMMS_ACTOR):
            with pytest.raises(Forbidden):
                stats.overview(s, actor)
    with campaign.sessions.begin() as s:
        s.get(Campaign, 1).created_at = utcnow() - dt.timedelta(days=2)
    with campaign.sessions() as s:
        data = stats.overview(s, ADMIN_ACTOR)
    [c] = data["campaigns"]
    # 3 bounced of 104 attempted (2.9%: over the 2% warning), 1 complaint of 101 delivered (1%: over 0.3%)
    assert (c["delivered"], c["bounced"], c["complained"]) == (101, 3, 1)
    assert c["crossed"] == ["complaints-limit", "bounces-warning"] and data["totals"]["crossed"] == c["crossed"]
    with campaign.sessions.begin() as s:
        s.get(Campaign, 1).created_at = utcnow() - dt.timedelta(days=31)
    with campaign.sessions() as s:
        assert stats.overview(s, ADMIN_ACTOR)["campaigns"] == []
