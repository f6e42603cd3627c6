"""Campaign creation and control, fan-out and the sweep, without a transport.

The pipeline end to end (workers, Redis, SMTP) is in tests/sending/test_pipeline.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update

from distribute.sending import campaigns as ops
from distribute.errors import UserError
from distribute.sending import fanout
from distribute.sending.fanout import TOP_UP_LOCK, enqueue_pending, insert_deliveries, start_campaign
from distribute.models import Campaign, Contact, Delivery, Event, Release
from distribute.audience.segments import add_segment
from distribute.sending.sweeper import reconcile, start_due
from distribute.audience.suppression import suppress
from counter_helpers import counters_exact_after, forced  # noqa: F401  (autouse: counters equal a recount after each test)

UTC = ZoneInfo("UTC")
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


class RecordingBroker:
    def __init__(self):
        self.batches: list[tuple[int, list[int]]] = []

    def enqueue(self, campaign_id, ids):
        self.batches.append((campaign_id, list(ids)))

    @property
    def ids(self):
        return [i for _, batch in self.batches for i in batch]


@pytest.fixture
def world(db, settings):
    """30 journalists (two suppressed, one unsubscribed) and 5 supporters, two segments, a release."""
    with db.sessions() as s, s.begin():
        for i in range(30):
            c = Contact(email=f"j{i}@news{i % 3}.example", email_key=f"j{i}@news{i % 3}.example", name=f"Journalist {i}",
                        kind="journalist", beat="politics", status="unsubscribed" if i == 7 else "active", attributes={})
            s.add(c)
        for i in range(5):
            s.add(Contact(email=f"s{i}@example.org", email_key=f"s{i}@example.org", kind="supporter", attributes={}))
        s.flush()
        add_segment(s, "press", "kind = journalist")
        add_segment(s, "politics", "beat = politics")
        add_segment(s, "fans", "kind = supporter")
        add_segment(s, "nobody", 'beat = "gardening"')
        suppress(s, ["j3@news0.example", "j4@news1.example"], "asked us", source="manual")
        s.add(Release(slug="r", title="Title", body="Body\n", source_format="markdown", language="en",
                      contacts=[{"email": "press@example.org"}], cta_label="Act", cta_url="https://example.org/act"))
    return db


def create(db, **kw):
    kw.setdefault("targets", ["press"])
    kw.setdefault("variant", "journalist")
    with db.sessions() as s, s.begin():
        release = s.scalar(select(Release))
        return ops.create_campaign(s, release, zone=UTC, now=NOW, **kw).id


def deliveries(db, campaign_id):
    with db.sessions() as s:
        return {d.email_key: d for d in s.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id))}


def test_fan_out_writes_one_row_per_recipient_and_records_the_suppressed(world, settings):
    campaign_id = create(world, targets=["press", "politics"])  # overlapping audiences
    broker = RecordingBroker()
    queued = start_campaign(world.sessions, settings, broker, campaign_id, NOW)
    rows = deliveries(world, campaign_id)
    assert len(rows) == 30
    assert queued == 27 and sorted(broker.ids) == sorted(d.id for d in rows.values() if d.state == "queued")
    assert rows["j3@news0.example"].state == "suppressed" and rows["j3@news0.example"].last_reply == "suppressed: asked us"
    assert rows["j7@news1.example"].state == "suppressed" and rows["j7@news1.example"].last_reply == "contact is unsubscribed"
    assert rows["j5@news2.example"].domain == "news2.example"
    assert len({d.ref for d in rows.values()}) == 30  # random refs, all different
    assert all(len(batch) <= settings.batch_size for _, batch in broker.batches)
    with world.sessions() as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign.state == "sending" and campaign.compiled["subject"] == "Title"


def test_starting_twice_or_two_schedulers_create_no_duplicates(world, settings):
    campaign_id = create(world)
    first, second = RecordingBroker(), RecordingBroker()
    start_campaign(world.sessions, settings, first, campaign_id, NOW)
    assert start_campaign(world.sessions, settings, second, campaign_id, NOW) == 0
    assert start_due(world.sessions, settings, second, NOW) == []
    assert second.batches == []
    assert len(deliveries(world, campaign_id)) == 30


def test_a_crashed_fan_out_is_finished_by_the_sweep(world, settings):
    campaign_id = create(world)
    with world.sessions() as s, s.begin():  # as if the starter died after claiming the start
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(state="sending", started_at=NOW))
    broker = RecordingBroker()
    later = NOW + dt.timedelta(seconds=settings.lease_seconds + 1)
    assert start_due(world.sessions, settings, broker, later) == [campaign_id]
    assert len(broker.ids) == 27


def test_lost_broker_messages_and_dead_workers_are_repaired(world, settings):
    campaign_id = create(world)
    broker = RecordingBroker()
    start_campaign(world.sessions, settings, broker, campaign_id, NOW)
    ids = broker.ids
    with world.sessions() as s, s.begin():
        # A worker claimed two rows and died: one before its SMTP transaction, one during it.
        forced(s, update(Delivery).where(Delivery.id == ids[0]).values(state="sending", claimed_by="w", lease_until=NOW))
        forced(s, update(Delivery).where(Delivery.id == ids[1]).values(
            state="sending", claimed_by="w", lease_until=NOW, attempt_started_at=NOW, attempts=1))
    later = NOW + dt.timedelta(seconds=settings.lease_seconds + 5)
    again = RecordingBroker()
    report = reconcile(world.sessions, settings, again, later)
    assert report["requeued"] == 1 and report["unknown"] == 1
    rows = {d.id: d for d in deliveries(world, campaign_id).values()}
    assert rows[ids[1]].state == "unknown" and "never read" in rows[ids[1]].last_reply
    # Every other queued row's broker message is presumed lost after its lease: all go back on.
    assert sorted(again.ids) == sorted(i for i in ids if i != ids[1])
    with world.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.type == "unknown")) == 1
    # Within the lease nothing is enqueued twice.
    assert reconcile(world.sessions, settings, RecordingBroker(), later)["enqueued"] == 0


def test_pause_resume_cancel(world, settings):
    campaign_id = create(world)
    broker = RecordingBroker()
    start_campaign(world.sessions, settings, broker, campaign_id, NOW)
    with world.sessions() as s, s.begin():
        ops.pause(s, campaign_id)
    assert enqueue_pending(world.sessions, settings, RecordingBroker(), campaign_id, NOW) == 0
    with world.sessions() as s, s.begin():
        with pytest.raises(UserError, match="paused"):
            ops.pause(s, campaign_id)
    with world.sessions() as s, s.begin():
        assert ops.resume(s, campaign_id).state == "sending"
    resumed = RecordingBroker()
    assert enqueue_pending(world.sessions, settings, resumed, campaign_id, NOW) == 27
    with world.sessions() as s, s.begin():
        _, n = ops.cancel(s, campaign_id)
    assert n == 27
    assert {d.state for d in deliveries(world, campaign_id).values()} == {"cancelled", "suppressed"}
    with world.sessions() as s, s.begin():
        with pytest.raises(UserError, match="cancelled"):
            ops.resume(s, campaign_id)


def test_retry_requeues_only_failed_and_unknown_only_on_request(world, settings):
    campaign_id = create(world)
    start_campaign(world.sessions, settings, RecordingBroker(), campaign_id, NOW)
    rows = list(deliveries(world, campaign_id).values())
    with world.sessions() as s, s.begin():
        forced(s, update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.state == "queued").values(state="sent"))
        forced(s, update(Delivery).where(Delivery.id.in_([rows[0].id, rows[1].id])).values(state="failed"))
        forced(s, update(Delivery).where(Delivery.id == rows[2].id).values(state="unknown"))
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(state="sent"))
    with world.sessions() as s, s.begin():
        _, n = ops.retry(s, campaign_id)
    assert n == 2
    with world.sessions() as s, s.begin():
        _, n = ops.retry(s, campaign_id, unknown=True)
    assert n == 1
    states_now = {d.id: d.state for d in deliveries(world, campaign_id).values()}
    assert [states_now[r.id] for r in rows[:3]] == ["queued", "queued", "queued"]


@pytest.mark.parametrize("kwargs, message, field", [
    ({"at": "tomorrow-ish"}, "'tomorrow-ish' is not a time", "at"),
    ({"at": "2020-01-01 09:00"}, "is in the past", "at"),
    ({"targets": ["nope"]}, "unknown segment or list 'nope'; segments: fans, nobody, politics, press", "targets"),
    ({"targets": []}, "choose who receives it", "targets"),
    ({"targets": ["nobody"]}, "the audience (segment nobody) is empty", "targets"),
    ({"variant": "nope"}, "unknown variant", "variant"),
])
def test_bad_requests_are_refused_and_nothing_is_queued(world, kwargs, message, field):
    with pytest.raises(UserError) as info:
        create(world, **kwargs)
    assert message in str(info.value) and info.value.field == field
    assert "--" not in str(info.value)  # the domain names no flag: each interface words its own hint
    with world.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0


def test_embargo_refuses_supporters_but_not_journalists(world):
    with world.sessions() as s, s.begin():
        s.scalar(select(Release)).embargo_until = NOW + dt.timedelta(days=1)
    with pytest.raises(UserError, match="under embargo until 2026-11-26 12:00 UTC: supporters may not get it"):
        create(world, targets=["fans"], variant="supporter")
    assert create(world, targets=["press"])  # journalists may get it before the embargo lifts
    assert create(world, targets=["fans"], variant="supporter", at="2026-11-26T13:00:00+00:00")


def test_the_same_send_twice_is_refused_unless_again(world):
    create(world)
    with pytest.raises(UserError, match="already sends this release to segment press"):
        create(world)
    assert create(world, again=True)


def test_at_in_the_configured_zone(world):
    campaign_id = create(world, at="2026-11-26 09:00")
    with world.sessions() as s:
        assert s.get(Campaign, campaign_id).scheduled_at == dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def test_only_a_window_of_batches_is_on_the_broker_at_once(world, settings):
    settings = settings.model_copy(update={"batch_size": 4, "batches_in_flight": 2})
    campaign_id = create(world)
    broker = RecordingBroker()
    assert start_campaign(world.sessions, settings, broker, campaign_id, NOW) == 8
    assert [len(b) for _, b in broker.batches] == [4, 4]
    assert enqueue_pending(world.sessions, settings, broker, campaign_id, NOW) == 0  # the window is full
    with world.sessions() as s, s.begin():  # a worker finished the first batch
        forced(s, update(Delivery).where(Delivery.id.in_(broker.batches[0][1])).values(state="sent"))
    assert enqueue_pending(world.sessions, settings, broker, campaign_id, NOW) == 4
    assert len(set(broker.ids)) == len(broker.ids) == 12


def _first_window_sent(world, settings):
    """A campaign whose first window (two batches of four) was sent: room for two batches again.
    Returns the settings, the campaign and its ids still queued."""
    settings = settings.model_copy(update={"batch_size": 4, "batches_in_flight": 2})
    campaign_id = create(world)
    start_campaign(world.sessions, settings, RecordingBroker(), campaign_id, NOW)
    with world.sessions() as s, s.begin():
        forced(s, update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.lease_until.is_not(None))
               .values(state="sent"))
        free = s.scalars(select(Delivery.id).where(Delivery.state == "queued").order_by(Delivery.id)).all()
    return settings, campaign_id, free


def test_two_top_ups_at_once_fill_the_window_together(world, settings):
    """Two workers finishing at once both top up. The second waits for the first, then counts
    the room it left: the window ends full, neither short (it waited for the first one's rows
    and stopped) nor overfull (both counted the same room)."""
    if world.engine.dialect.name != "postgresql":
        pytest.skip("row locks: one SQLite writer at a time")
    settings, campaign_id, free = _first_window_sent(world, settings)
    broker = RecordingBroker()
    with world.engine.connect() as first:  # the first top-up, between its first lease and its end
        first.execute(select(func.pg_advisory_lock(TOP_UP_LOCK, campaign_id)))
        first.execute(update(Delivery).where(Delivery.id.in_(free[:4]))
                      .values(lease_until=NOW + dt.timedelta(seconds=settings.lease_seconds)))
        taken = []
        second = threading.Thread(target=lambda: taken.append(
            enqueue_pending(world.sessions, settings, broker, campaign_id, NOW)))
        second.start()
        second.join(timeout=2)
        waited = second.is_alive()
        first.commit()
        first.execute(select(func.pg_advisory_unlock(TOP_UP_LOCK, campaign_id)))
        first.commit()
        second.join(timeout=30)
        assert not second.is_alive()
        # the second gave its turn back: no advisory lock is left behind
        assert not first.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                     " AND objid = :c AND classid = :k"), {"c": campaign_id, "k": TOP_UP_LOCK})
    assert waited, "the second top-up did not wait for the first"
    assert taken == [4] and broker.ids == free[4:8]


def test_a_top_up_stuck_on_the_broker_holds_up_nobody(world, settings, monkeypatch):
    """A top-up that keeps its turn too long (its broker not answering): the next one does not
    queue behind it, it leaves the room to a later top-up or the sweep."""
    if world.engine.dialect.name != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    monkeypatch.setattr(fanout, "TOP_UP_WAIT_SECONDS", 0.3)
    settings, campaign_id, _ = _first_window_sent(world, settings)
    taken = []
    with world.engine.connect() as stuck:
        stuck.execute(select(func.pg_advisory_lock(TOP_UP_LOCK, campaign_id)))
        other = threading.Thread(target=lambda: taken.append(
            enqueue_pending(world.sessions, settings, RecordingBroker(), campaign_id, NOW)))
        other.start()
        other.join(timeout=10)
        gave_up = not other.is_alive()
        stuck.execute(select(func.pg_advisory_unlock(TOP_UP_LOCK, campaign_id)))
        stuck.commit()
    other.join()
    assert gave_up and taken == [0]
    assert enqueue_pending(world.sessions, settings, RecordingBroker(), campaign_id, NOW) == 8  # the next one fills it


def test_the_sweep_finishes_what_races_leave_behind(world, settings):
    campaign_id = create(world)
    start_campaign(world.sessions, settings, RecordingBroker(), campaign_id, NOW)
    rows = sorted(deliveries(world, campaign_id).values(), key=lambda d: d.id)
    with world.sessions() as s, s.begin():
        # A deferral recorded just after an operator cancelled the campaign.
        forced(s, update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.state == "queued").values(state="sent"))
        forced(s, update(Delivery).where(Delivery.id == rows[0].id).values(state="deferred", next_attempt_at=NOW))
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(state="cancelled"))
    report = reconcile(world.sessions, settings, RecordingBroker(), NOW)
    assert report["cancelled"] == 1 and deliveries(world, campaign_id)[rows[0].email_key].state == "cancelled"
    assert report["retry_due"] == 0  # its retry time had come, but there is no retry for a cancelled campaign

    second = create(world, again=True)
    start_campaign(world.sessions, settings, RecordingBroker(), second, NOW)
    with world.sessions() as s, s.begin():
        # Marked sent by a worker while a retry re-queued a row.
        forced(s, update(Delivery).where(Delivery.campaign_id == second, Delivery.state == "queued").values(state="sent"))
        forced(s, update(Delivery).where(Delivery.campaign_id == second, Delivery.email_key == rows[1].email_key)
                  .values(state="queued", lease_until=None))
        s.execute(update(Campaign).where(Campaign.id == second).values(state="sent"))
    broker = RecordingBroker()
    report = reconcile(world.sessions, settings, broker, NOW)
    assert report["reopened"] == 1 and len(broker.ids) == 1


# --- one release, one copy per address ------------------------------------------------------

def _mark_sent(db, campaign_id):
    with db.sessions() as s, s.begin():
        forced(s, update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.state == "queued")
                  .values(state="sent"))


def test_fan_out_skips_addresses_that_have_the_release_from_another_campaign(world, settings):
    first = create(world, targets=["politics"])
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)
    _mark_sent(world, first)
    # A different audience that overlaps: every journalist, and the supporters.
    second = create(world, targets=["press", "fans"])
    broker = RecordingBroker()
    start_campaign(world.sessions, settings, broker, second, NOW)
    rows = deliveries(world, second)
    skipped = {k for k, d in rows.items() if d.state == "skipped"}
    assert skipped == {k for k, d in deliveries(world, first).items() if d.state == "sent"}
    assert all(rows[k].last_reply == f"already has this release from campaign {first}" for k in skipped)
    assert {k for k, d in rows.items() if d.state == "queued"} == {f"s{i}@example.org" for i in range(5)}
    assert sorted(broker.ids) == sorted(d.id for d in rows.values() if d.state == "queued")


def test_on_its_way_counts_too_and_again_lifts_the_rule(world, settings):
    first = create(world)
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)  # queued, not sent yet
    with pytest.raises(UserError, match="already have release r from another campaign"):
        create(world, targets=["politics"])
    second = create(world, targets=["politics"], again=True)
    start_campaign(world.sessions, settings, RecordingBroker(), second, NOW)
    assert {d.state for d in deliveries(world, second).values()} == {"queued", "suppressed"}


def test_cancelled_failed_and_test_deliveries_do_not_count(world, settings):
    first = create(world)
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)
    with world.sessions() as s, s.begin():
        forced(s, update(Delivery).where(Delivery.campaign_id == first, Delivery.state == "queued")
                  .values(state="cancelled"))
        s.execute(update(Campaign).where(Campaign.id == first).values(state="cancelled"))
    test = create(world, test=["j0@news0.example"])
    start_campaign(world.sessions, settings, RecordingBroker(), test, NOW)
    _mark_sent(world, test)
    second = create(world, targets=["politics"])
    start_campaign(world.sessions, settings, RecordingBroker(), second, NOW)
    assert "skipped" not in {d.state for d in deliveries(world, second).values()}


def test_two_campaigns_fanning_out_at_once_take_turns(world, settings):
    """The second fan-out waits for the first's transaction and then sees its rows."""
    if world.backend != "postgresql":
        pytest.skip("SQLite has one writer: two fan-outs cannot overlap there")
    first, second = create(world), create(world, targets=["politics"])
    with world.sessions() as s, s.begin():
        s.execute(update(Campaign).where(Campaign.id.in_([first, second])).values(state="sending", started_at=NOW))
    done = threading.Event()
    with world.sessions() as held:
        held.begin()
        insert_deliveries(held, held.get(Campaign, first))  # holds the release's lock, uncommitted
        thread = threading.Thread(target=lambda: (start_campaign(world.sessions, settings, RecordingBroker(), second, NOW),
                                                  done.set()))
        with world.sessions() as s, s.begin():  # the stalled second start, as the sweep would retry it
            s.execute(update(Campaign).where(Campaign.id == second).values(state="scheduled", started_at=None))
        thread.start()
        assert not done.wait(1.0)  # waiting for the first's lock
        held.commit()
    thread.join(30)
    assert done.is_set()
    first_rows, second_rows = deliveries(world, first), deliveries(world, second)
    assert {k for k, d in second_rows.items() if d.state == "skipped"} == \
        {k for k, d in first_rows.items() if d.state == "queued"}
    assert not {k for k, d in second_rows.items() if d.state == "queued"} & \
        {k for k, d in first_rows.items() if d.state == "queued"}


def test_dry_run_and_counts_say_how_many_already_have_it(world, settings):
    first = create(world, targets=["politics"])
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)
    with world.sessions() as s:
        release = s.scalar(select(Release))
        result = ops.dry_run(s, release, ["press", "fans"])
    assert result["recipients"] == 32 and result["already_have"] == 27


def test_the_attempt_mark_is_a_hot_update_on_postgresql(world, settings):
    """The mark written before every message changes no indexed column, so PostgreSQL writes
    the new row version beside the old one with no new entry in each index (a HOT update)."""
    from sqlalchemy import text

    from distribute.sending.attempts import _MARK

    if world.backend != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    with world.sessions() as s, s.begin():
        campaign_id = ops.create_campaign(s, s.scalars(select(Release)).one(), targets=["press"], variant="journalist",
                                          zone=UTC, now=NOW).id
    start_campaign(world.sessions, settings, RecordingBroker(), campaign_id, NOW)
    hot = text("SELECT pg_stat_get_xact_tuples_hot_updated('deliveries'::regclass)")
    with world.engine.connect() as conn, conn.begin():  # rolled back: the claim below skips the counters
        row = conn.scalar(select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.state == "queued")
                          .order_by(Delivery.id).limit(1))
        lease = NOW + dt.timedelta(seconds=settings.lease_seconds)
        conn.execute(update(Delivery).where(Delivery.id == row).values(state="sending", claimed_by="t", lease_until=lease))
        before = conn.scalar(hot)
        marked = conn.execute(_MARK, {"b_id": row, "b_token": "t", "b_now": NOW, "b_lease": lease,
                                      "b_renew": NOW + (lease - NOW) / 2}).rowcount
        assert marked == 1 and conn.scalar(hot) - before == 1
        conn.rollback()


def _planned_rows(conn, campaign_id: int) -> float:
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) SELECT id FROM deliveries WHERE campaign_id = {int(campaign_id)}")
    return plan.scalar()[0]["Plan"]["Plan Rows"]


def test_after_a_fan_out_postgresql_plans_for_the_campaign_it_has(world, settings, monkeypatch):
    """The fan-out refreshes the deliveries' statistics: otherwise, until the autovacuum comes,
    PostgreSQL takes a new campaign for a single row, and every claim of a batch reads the
    whole campaign to find its ids."""
    if world.backend != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    with world.engine.begin() as conn:  # none left by earlier tests, whose campaigns had these ids too
        conn.exec_driver_sql("DELETE FROM pg_statistic WHERE starelid = 'deliveries'::regclass")
    monkeypatch.setattr(fanout, "REFRESH_STATISTICS_AFTER", 5)  # this world's campaigns are small
    for targets, again in ((["press"], False), (["fans"], True)):  # 30 deliveries, then 5: each estimated for itself
        campaign_id = create(world, targets=targets, again=again)
        start_campaign(world.sessions, settings, RecordingBroker(), campaign_id, NOW)
        with world.engine.connect() as conn:
            have = conn.scalar(select(func.count()).where(Delivery.campaign_id == campaign_id))
            # Not a single row: about what there is (more, counting the row versions the batches'
            # leases have written since).
            assert _planned_rows(conn, campaign_id) >= have


def test_a_fan_out_does_not_wait_for_fresh_statistics(world, settings, monkeypatch, caplog):
    """Another ANALYZE or a VACUUM holding the table: the fan-out neither waits nor cancels it,
    goes on with its statistics left to the autovacuum, and says so."""
    if world.backend != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(fanout, "REFRESH_STATISTICS_AFTER", 5)
    campaign_id = create(world)
    with world.engine.connect() as holder, holder.begin():
        holder.exec_driver_sql("LOCK TABLE deliveries IN SHARE UPDATE EXCLUSIVE MODE")  # what ANALYZE and VACUUM take
        broker = RecordingBroker()
        assert start_campaign(world.sessions, settings, broker, campaign_id, NOW) == 27
    assert sorted(broker.ids) == sorted(d.id for d in deliveries(world, campaign_id).values() if d.state == "queued")
    assert "statistics of deliveries not refreshed" in caplog.text


def test_only_a_fan_out_of_many_refreshes_the_statistics(world, settings, monkeypatch):
    refreshed = []
    monkeypatch.setattr(fanout, "refresh_statistics", lambda engine, table, *columns: refreshed.append(table))
    start_campaign(world.sessions, settings, RecordingBroker(), create(world), NOW)  # 30 deliveries
    assert refreshed == []
    monkeypatch.setattr(fanout, "REFRESH_STATISTICS_AFTER", 30)
    start_campaign(world.sessions, settings, RecordingBroker(), create(world, again=True), NOW)
    assert refreshed == [Delivery]


def test_a_marked_row_keeps_most_of_its_lease(world, settings):
    """The mark leaves a lease that still has most of its time alone (no indexed column changed),
    and renews one that has lost more than a tenth: the SMTP transaction and the database
    retries after it always have nine tenths of the lease, never half."""
    from distribute.sending.attempts import _MARK, renewal

    with world.sessions() as s, s.begin():
        campaign_id = ops.create_campaign(s, s.scalars(select(Release)).one(), targets=["press"], variant="journalist",
                                          zone=UTC, now=NOW).id
    start_campaign(world.sessions, settings, RecordingBroker(), campaign_id, NOW)
    full = dt.timedelta(seconds=settings.lease_seconds)
    with world.engine.connect() as conn, conn.begin():
        fresh, worn = conn.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign_id)
                                   .order_by(Delivery.id).limit(2)).all()
        for row, left in ((fresh, full * 0.95), (worn, full * 0.5)):
            conn.execute(update(Delivery).where(Delivery.id == row).values(state="sending", claimed_by="t",
                                                                          lease_until=NOW + left))
            marked = conn.execute(_MARK, {"b_id": row, "b_token": "t", "b_now": NOW, "b_lease": NOW + full,
                                          "b_renew": renewal(NOW, NOW + full)}).rowcount
            assert marked == 1
        leases = dict(conn.execute(select(Delivery.id, Delivery.lease_until).where(Delivery.id.in_((fresh, worn)))).all())
        assert leases == {fresh: NOW + full * 0.95, worn: NOW + full}
        conn.rollback()
