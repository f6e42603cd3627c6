"""A batch run's writes, driven by hand on PostgreSQL: the order in which they take their locks.

The pipeline end to end is in tests/sending/test_pipeline.py."""

from __future__ import annotations

import threading
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from distribute import states
from distribute.audience.segments import add_segment
from distribute.deliveries import counters
from distribute.models import Campaign, Contact, Delivery, Release, utcnow
from distribute.sending import campaigns as ops
from distribute.sending.attempts import BatchRun
from distribute.sending.fanout import start_campaign
from distribute.sending.ratelimit import NoRateLimit
from distribute.sending.sender import Sender, _claim
from counter_helpers import counters_exact_after  # noqa: F401  (autouse: counters equal a recount after each test)
from conftest import NoBroker


@pytest.fixture
def campaign_id(db):
    """A sending campaign of three journalists."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: one SQLite writer at a time")
    with db.sessions() as s, s.begin():
        for i in range(3):
            s.add(Contact(email=f"j{i}@news.example", email_key=f"j{i}@news.example", kind="journalist",
                          outlet="News", attributes={}))
        add_segment(s, "press", "kind = journalist")
        release = Release(slug="r", title="Title", body="Body\n", source_format="markdown", language="en",
                          contacts=[{"email": "press@example.org"}])
        s.add(release)
        s.flush()
        return ops.create_campaign(s, release, targets=["press"], variant="journalist", zone=ZoneInfo("UTC")).id


def _waiting_for_a_lock(db, pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            if conn.scalar(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}) == "Lock":
                return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("outcome", [states.DELIVERED, states.BOUNCED])
def test_an_outcome_written_with_the_next_mark_locks_the_next_row_before_any_counter(db, settings, campaign_id,
                                                                                        outcome):
    """An erase locks its person's deliveries, then their counters. The sender writes an outcome
    and marks the next message in one transaction (one statement for a message sent; a bounce
    with its event and suppression in several): if it took the counters first, an erase holding
    that next message would wait for the counters while the sender waited for the message, and
    PostgreSQL would end one of the two (an erase ended is an error for the operator). The probe
    below stands for the erase's counters: any counter row the sender has written."""
    start_campaign(db.sessions, settings, NoBroker(), campaign_id)
    sender = Sender(settings, db.sessions, transport_factory=lambda: None, rate_limiter=NoRateLimit())
    now = utcnow()
    with db.sessions() as s, s.begin():
        ids = s.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign_id).order_by(Delivery.id)).all()
        first, second, following = _claim(s, campaign_id, ids, "tok", sender.lease(now), now)
        campaign = s.get(Campaign, campaign_id)
        builder = sender.builder(campaign)
    with db.engine.connect() as conn, db.engine.connect() as eraser:
        run = BatchRun(sender, conn, campaign, builder, "tok")
        pid = conn.connection.dbapi_connection.info.backend_pid
        # a first message sent, so that the counters have rows in the sender's shard to add to
        assert run._mark(first)
        run.pending = run._outcome(first, states.DELIVERED, 250, "2.0.0 ok", {})
        assert run._mark(second)
        # the next one's outcome waits to be written with the next mark
        code, reply, data = ((550, "5.1.1 user unknown", {"kind": "hard", "hard": True}) if outcome == states.BOUNCED
                             else (250, "2.0.0 ok", {}))
        run.pending = run._outcome(second, outcome, code, reply, data)
        eraser.execute(select(Delivery.id).where(Delivery.id == following.id).with_for_update())  # the erase's lock
        marked = []
        mark = threading.Thread(target=lambda: marked.append(run._mark(following)))
        mark.start()
        assert _waiting_for_a_lock(db, pid)
        try:  # what the erase takes next: counter rows (the sender's shard's, when the two shards meet)
            # a wait shorter than PostgreSQL's deadlock check (1 s), which would end one of the two
            eraser.execute(text("SET LOCAL lock_timeout = '200ms'"))
            eraser.execute(text("SELECT 1 FROM campaign_counters WHERE campaign_id = :c AND shard = :s FOR UPDATE"),
                           {"c": campaign_id, "s": pid % counters.SHARDS})
            held = False
        except OperationalError:
            held = True
        eraser.rollback()
        mark.join(timeout=30)
    assert not held, "the sender held a counter while it waited for the next message's row"
    assert marked == [True]
    with db.sessions() as s:
        assert s.get(Delivery, second.id).state == outcome
        assert s.get(Delivery, following.id).attempt_started_at is not None
