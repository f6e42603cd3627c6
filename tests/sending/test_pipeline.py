"""The delivery pipeline end to end, on real parts: PostgreSQL, a Redis server, `celery -A worker
worker` processes, and an SMTP server that accepts, defers, refuses and drops.

Each test runs its own redis-server on a free port (so it may kill and restart it without
touching anyone else's), its own workers, and its own PostgreSQL database. The sweep (what
`celery -A worker beat` runs) is called from the test, so the test decides when it happens.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, text, update

from distribute.sending import campaigns as ops
from distribute.sending.tasks import create_celery
from distribute.config import Settings
from distribute.db import make_engine, make_sessionmaker
from distribute.models import Base, Campaign, Contact, Delivery, Release, Suppression
from distribute.releases.store import read_release, store_release
from distribute.audience.segments import add_segment
from distribute.sending.sender import STATE_CHECK_SECONDS
from distribute.sending.sweeper import sweep

from conftest import REPO
from redis_server import RedisServer
from smtp_server import SMTPTestServer
from counter_helpers import assert_all_counters_exact

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
CELERY = str(Path(sys.executable).with_name("celery"))


class Pipeline:
    def __init__(self, db_url: str, tmp: Path, smtp: SMTPTestServer, redis: RedisServer, **overrides):
        self.env = {
            **os.environ,
            "DISTRIBUTE_DATABASE_URL": db_url,
            "DISTRIBUTE_BROKER_URL": redis.url,
            "DISTRIBUTE_SMTP_URL": smtp.url,
            "DISTRIBUTE_SECRET_KEY": "pipeline-secret-key-for-distribute-tests",
            "DISTRIBUTE_BASE_URL": "https://press.example.org",
            "DISTRIBUTE_LEASE_SECONDS": "4",
            "DISTRIBUTE_SWEEP_SECONDS": "1",
            "DISTRIBUTE_RETRY_BASE_SECONDS": "0.3",
            "DISTRIBUTE_RETRY_MAX_SECONDS": "1",
            "DISTRIBUTE_BATCH_SIZE": "50",
            **{f"DISTRIBUTE_{k.upper()}": str(v) for k, v in overrides.items()},
        }
        self.settings = Settings(**{k.removeprefix("DISTRIBUTE_").lower(): v for k, v in self.env.items()
                                    if k.startswith("DISTRIBUTE_")})
        self.tmp = tmp
        self.smtp = smtp
        self.redis = redis
        self.engine = make_engine(db_url)
        self.sessions = make_sessionmaker(self.engine)
        self.celery = create_celery(self.settings)
        self.workers: list[subprocess.Popen] = []

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen:
        n = len(self.workers)
        log = (self.tmp / f"worker{n}.log").open("w")
        proc = subprocess.Popen(
            [CELERY, "-A", "worker", "worker", f"--concurrency={concurrency}", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"w{n}-{os.getpid()}@%h"],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
        os.killpg(proc.pid, sig)  # the main process and its prefork children
        proc.wait(timeout=60)

    def stop(self):
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.engine.dispose()

    def log(self) -> str:
        return "".join(p.read_text() for p in sorted(self.tmp.glob("worker*.log")))

    # -- data ---------------------------------------------------------------------------------

    def contacts(self, n: int, domain_of=lambda i: f"outlet{i % 7}.example") -> list[str]:
        emails = [f"reporter{i}@{domain_of(i)}" for i in range(n)]
        with self.sessions() as s, s.begin():
            s.execute(insert(Contact), [
                {"email": e, "email_key": e, "name": f"Reporter {i}", "kind": "journalist", "attributes": {},
                 "outlet": f"Outlet {i % 7}"} for i, e in enumerate(emails)
            ])
            add_segment(s, "press", "kind = journalist", replace=True)
            if s.scalar(select(Release.id)) is None:
                store_release(s, read_release(REPO / "samples" / "release.md", zone=ZoneInfo("UTC")))
        return emails

    def campaign(self, **kw) -> int:
        with self.sessions() as s, s.begin():
            release = s.scalar(select(Release))
            campaign = ops.create_campaign(s, release, targets=kw.pop("targets", ["press"]), variant="journalist",
                                           zone=ZoneInfo("UTC"), again=True, **kw)
            campaign_id = campaign.id
        return campaign_id

    def start(self, campaign_id: int) -> None:
        self.celery.runtime().broker.start(campaign_id)

    def states(self, campaign_id: int) -> Counter:
        with self.sessions() as s:
            return Counter(dict(s.execute(
                select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id).group_by(Delivery.state)
            ).all()))

    def campaign_state(self, campaign_id: int) -> str:
        with self.sessions() as s:
            return s.scalar(select(Campaign.state).where(Campaign.id == campaign_id))

    def run_until(self, done, timeout: float = 120, sweep_every: float = 1.0) -> None:
        """Sweep (what beat would do) until done() holds."""
        deadline = time.monotonic() + timeout
        next_sweep = 0.0
        while time.monotonic() < deadline:
            if done():
                return
            if time.monotonic() >= next_sweep:
                try:
                    sweep(self.sessions, self.settings, self.celery.runtime().broker)
                except Exception:  # the broker may be down while a test restarts it
                    pass
                next_sweep = time.monotonic() + sweep_every
            time.sleep(0.1)
        raise AssertionError(f"timed out; states: {self.states_all()}\n--- worker log ---\n{self.log()[-4000:]}")

    def settle(self, campaign_id: int, timeout: float = 60) -> Counter:
        """The states of a campaign just paused, once no batch holds its rows any more: each running
        batch looks at the campaign's state every STATE_CHECK_SECONDS and gives its rows back; a
        claim that read the state just before the pause committed is given back the same way.
        Waiting for that, rather than for a fixed time, holds however loaded the machine is."""
        time.sleep(2 * STATE_CHECK_SECONDS)
        deadline = time.monotonic() + timeout
        while (counts := self.states(campaign_id))["sending"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert counts["sending"] == 0, (counts, self.log()[-4000:])
        return counts

    def states_all(self) -> Counter:
        with self.sessions() as s:
            return Counter(dict(s.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()))

    def campaign_waiting(self, campaign_id: int) -> bool:
        with self.sessions() as s:
            return s.scalar(select(Campaign.wait_until).where(Campaign.id == campaign_id)) is not None

    def wait_reason(self, campaign_id: int) -> str | None:
        with self.sessions() as s:
            return s.scalar(select(Campaign.wait_reason).where(Campaign.id == campaign_id))

    def finished(self, campaign_id: int) -> bool:
        return self.campaign_state(campaign_id) in ("sent", "paused", "cancelled", "failed") and not (
            self.states(campaign_id).keys() & {"queued", "sending", "deferred"})

    def deliveries(self, campaign_id: int) -> list[Delivery]:
        with self.sessions() as s:
            return list(s.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id)))


@pytest.fixture
def pipeline_factory(pg_url, tmp_path):
    engine = make_engine(pg_url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    made = []
    smtp = SMTPTestServer().start()
    redis = RedisServer()
    redis.start()

    def make(**overrides) -> Pipeline:
        p = Pipeline(pg_url, tmp_path, smtp, redis, **overrides)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()
    smtp.stop()
    redis.stop()
    # Whatever the test did to the workers (killed, stopped, cut off from the database), the
    # counters kept with every move equal an exact recount once they have stopped.
    engine = make_engine(pg_url)
    try:
        assert_all_counters_exact(engine)
    finally:
        engine.dispose()


def test_two_thousand_recipients_each_mailed_exactly_once(pipeline_factory):
    p = pipeline_factory()
    emails = p.contacts(2000)
    p.start_worker()
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.start(campaign_id)  # a second start (a double click, two schedulers) adds nothing
    p.run_until(lambda: p.campaign_state(campaign_id) == "sent", timeout=180)
    counts = p.smtp.count_by_recipient()
    assert len(counts) == 2000 and set(counts) == set(emails)
    assert set(counts.values()) == {1}
    rows = p.deliveries(campaign_id)
    assert len(rows) == 2000
    assert {r.state for r in rows} == {"sent"}
    by_ref = {r.delivery: r for r in p.smtp.received}
    for row in rows[:50]:
        assert row.last_code == 250 and row.last_reply.startswith("2.0.0 Ok: queued as Q")
        assert row.last_reply.endswith(by_ref[row.ref].queue_id)
        assert row.message_id == f"<{row.ref}@example.org>" and row.attempts == 1 and row.sent_at


def test_deferrals_bounces_and_a_dropped_connection(pipeline_factory):
    p = pipeline_factory(breaker_bounce_rate=0.5)
    emails = p.contacts(300)
    deferred = set(emails[0:300:10])      # 451 twice, then accepted
    dead = set(emails[5:300:25])          # 550 5.1.1: hard bounce, suppressed
    policy = set(emails[7:300:50])        # 554 5.7.1 at DATA: about the message, not the address
    policy |= set(emails[9:300:50])       # "user unknown" at DATA: a filter, not a dead address
    p.smtp.defer(to=lambda a: a in deferred, times=2)
    p.smtp.refuse(to=lambda a: a in dead, code=550, text="5.1.1 <x>: Recipient address rejected: User unknown")
    p.smtp.refuse_data(to=lambda a: a in policy, code=554, text="5.7.1 Message rejected as spam")
    p.smtp.refuse_data(to=lambda a: a in set(emails[9:300:50]), code=554, text="5.1.1 <x>: User unknown")
    p.smtp.drop_after(40)                 # once: the 41st message's connection is cut mid-DATA
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.finished(campaign_id), timeout=180)
    rows = {r.email: r for r in p.deliveries(campaign_id)}
    counts = p.smtp.count_by_recipient()
    assert all(n == 1 for n in counts.values())  # nobody twice
    for email in emails:
        row = rows[email]
        if email in dead:
            assert row.state == "bounced" and row.last_code == 550 and email not in counts
        elif email in policy:
            assert row.state == "bounced" and row.last_code == 554 and email not in counts
        else:
            assert row.state == "sent" and counts[email] == 1, (email, row.state, row.last_reply)
    assert all(rows[e].attempts == 3 for e in deferred - dead - policy)
    with p.sessions() as s:
        suppressed = set(s.scalars(select(Suppression.email_key)))
    assert suppressed == dead  # never a policy refusal
    assert not any(r.last_code == 503 for r in rows.values())  # no cascade after the errors
    assert any(f.code is None for f in p.smtp.refusals)  # the drop did happen


def test_sigkill_and_redis_restart_lose_nobody_and_mail_nobody_twice(pipeline_factory):
    p = pipeline_factory()
    p.contacts(600)
    p.smtp.delay(0.02)  # slow enough to be killed mid-campaign
    first = p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.states(campaign_id)["sent"] >= 100, timeout=60)
    p.kill_worker(first)          # SIGKILL: its connections die mid-transaction
    p.redis.restart()             # and every task still on the broker is gone
    p.start_worker()
    p.run_until(lambda: p.finished(campaign_id), timeout=180)
    rows = p.deliveries(campaign_id)
    counts = p.smtp.count_by_recipient()
    assert all(n == 1 for n in counts.values())
    by_state = Counter(r.state for r in rows)
    assert set(by_state) <= {"sent", "unknown"}
    assert by_state["unknown"] <= 2  # at most one per killed connection (two worker processes)
    for r in rows:
        if r.state == "sent":
            assert counts[r.email] == 1
        else:
            assert "never read" in r.last_reply  # recorded as such, never silently
    assert sum(counts.values()) >= by_state["sent"]
    assert len(counts) + sum(1 for r in rows if r.state == "unknown" and r.email not in counts) == 600
    # The operator decides about the unknown ones: retry --unknown sends them on purpose.
    if by_state["unknown"]:
        with p.sessions() as s, s.begin():
            _, n = ops.retry(s, campaign_id, unknown=True)
        assert n == by_state["unknown"]
        p.run_until(lambda: p.finished(campaign_id), timeout=60)
        assert Counter(r.state for r in p.deliveries(campaign_id)) == Counter({"sent": 600})


def test_a_task_redelivered_after_the_visibility_timeout_sends_nothing(pipeline_factory):
    p = pipeline_factory(visibility_timeout_seconds=2, batch_size=40, lease_seconds=60)
    emails = p.contacts(80)
    p.smtp.delay(0.1)  # a batch of 40 takes ~4 s, longer than the visibility timeout
    p.start_worker()
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.finished(campaign_id), timeout=120, sweep_every=30)
    counts = p.smtp.count_by_recipient()
    assert set(counts) == set(emails) and set(counts.values()) == {1}
    assert "already claimed" in p.log()  # Celery did deliver a batch twice


def test_one_bad_recipient_fails_alone(pipeline_factory):
    p = pipeline_factory()
    emails = p.contacts(20)
    with p.sessions() as s, s.begin():  # a row that bypassed the importer's validation
        s.execute(update(Contact).where(Contact.email_key == emails[3]).values(email="not an address"))
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.finished(campaign_id), timeout=60)
    rows = {r.email_key: r for r in p.deliveries(campaign_id)}
    assert rows[emails[3]].state == "failed" and "could not build the message" in rows[emails[3]].last_reply
    assert Counter(r.state for r in rows.values()) == Counter({"sent": 19, "failed": 1})


def test_pause_resume_cancel_and_schedule(pipeline_factory):
    p = pipeline_factory()
    p.contacts(400)
    p.smtp.delay(0.02)
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.states(campaign_id)["sent"] >= 30, timeout=60)
    with p.sessions() as s, s.begin():
        ops.pause(s, campaign_id)
    paused_at = p.settle(campaign_id)["sent"]
    time.sleep(2)  # nothing more is sent while paused
    assert p.states(campaign_id)["sent"] == paused_at < 400
    with p.sessions() as s, s.begin():
        ops.resume(s, campaign_id)
    p.run_until(lambda: p.campaign_state(campaign_id) == "sent", timeout=120)
    assert set(p.smtp.count_by_recipient().values()) == {1} and len(p.smtp.count_by_recipient()) == 400

    # Cancel mid-way: every delivery not sent ends cancelled.
    second = p.campaign()
    p.start(second)
    p.run_until(lambda: p.states(second)["sent"] >= 20, timeout=60)
    with p.sessions() as s, s.begin():
        ops.cancel(s, second)
    p.run_until(lambda: not (p.states(second).keys() & {"queued", "sending"}), timeout=60)
    final = p.states(second)
    assert set(final) == {"sent", "cancelled"} and final["sent"] + final["cancelled"] == 400

    # A scheduled campaign starts at its time, not before.
    import datetime as dt
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)).isoformat()
    third = p.campaign(at=at)
    with p.sessions() as s:
        assert s.get(Campaign, third).state == "scheduled"
    sweep(p.sessions, p.settings, p.celery.runtime().broker)
    assert p.states(third) == Counter()
    p.run_until(lambda: p.campaign_state(third) == "sent", timeout=120)


def test_circuit_breaker_pauses_a_bouncing_campaign_and_says_why(pipeline_factory):
    p = pipeline_factory(breaker_min_sample=100, breaker_bounce_rate=0.05)
    emails = p.contacts(400)
    dead = set(emails[::8])  # 12.5% hard bounces
    p.smtp.refuse(to=lambda a: a in dead)
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.campaign_state(campaign_id) == "paused", timeout=60)
    with p.sessions() as s:
        reason = s.get(Campaign, campaign_id).state_reason
    assert reason.startswith("circuit breaker: ") and "bounced" in reason and "> 5%" in reason
    stopped = p.settle(campaign_id)
    assert stopped["queued"] > 0  # it stopped sending
    time.sleep(2)
    assert p.states(campaign_id) == stopped
    # Resumed, it judges a fresh sample: at least 100 more attempts before it may pause again.
    attempted = lambda c: c["sent"] + c["bounced"]  # noqa: E731
    with p.sessions() as s, s.begin():
        ops.resume(s, campaign_id)
    p.run_until(lambda: p.campaign_state(campaign_id) in ("paused", "sent"), timeout=60)
    assert attempted(p.states(campaign_id)) - attempted(stopped) >= 100


def test_celery_beat_starts_a_scheduled_campaign_on_time(pipeline_factory):
    """The production scheduler: `celery -A worker beat` runs the sweep; nothing in the test does."""
    import datetime as dt

    p = pipeline_factory()
    p.contacts(30)
    p.start_worker()
    beat_log = (p.tmp / "beat.log").open("w")
    beat = subprocess.Popen(
        [CELERY, "-A", "worker", "beat", "--loglevel=INFO", f"--schedule={p.tmp / 'beat-schedule'}"],
        cwd=REPO, env=p.env, stdout=beat_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    p.workers.append(beat)  # stopped with the workers
    # Both processes take seconds to start on a loaded machine: the campaign's time is set once
    # beat's sweeps are reaching the worker, so "on time" measures the scheduler, not the start.
    deadline = time.monotonic() + 90
    while not re.search(r"Task distribute\.sweep\[[^\]]+\] succeeded", p.log()) and time.monotonic() < deadline:
        time.sleep(0.2)
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    campaign_id = p.campaign(at=at.isoformat())
    deadline = time.monotonic() + 60
    while p.campaign_state(campaign_id) != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert p.campaign_state(campaign_id) == "sent", (p.tmp / "beat.log").read_text()[-2000:]
    with p.sessions() as s:
        started = s.get(Campaign, campaign_id).started_at
    # On time: not before, and within a few of beat's one-second sweeps (not whenever).
    assert at <= started < at + dt.timedelta(seconds=8)
    assert len(p.smtp.count_by_recipient()) == 30


def test_sigterm_stops_a_worker_gracefully_nothing_lost_or_sent_twice(pipeline_factory):
    p = pipeline_factory()
    emails = p.contacts(400)
    p.smtp.delay(0.01)
    first = p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.states(campaign_id)["sent"] >= 60, timeout=60)
    first.send_signal(signal.SIGTERM)  # to the main process, as `docker stop` does: a warm shutdown
    first.wait(timeout=60)             # it finishes the batch in hand, then exits
    stopped_at = p.states(campaign_id)
    assert stopped_at["sending"] == 0 and stopped_at["unknown"] == 0  # nothing half done
    p.start_worker()
    p.run_until(lambda: p.campaign_state(campaign_id) == "sent", timeout=120)
    counts = p.smtp.count_by_recipient()
    assert set(counts) == set(emails) and set(counts.values()) == {1}
    assert p.states(campaign_id) == Counter({"sent": 400})


# --- outages: the relay, our relay settings, the database ------------------------------------

def test_a_relay_outage_holds_the_campaign_which_goes_on_by_itself(pipeline_factory):
    """The relay stops for a minute mid-campaign: the campaign waits, says why, and completes
    when the relay is back, with nobody acting: nobody lost, nobody mailed twice."""
    from distribute.stats.campaign import campaign_stats

    p = pipeline_factory(breaker_min_sample=50, relay_retry_max_seconds=4)
    emails = p.contacts(800)
    p.smtp.delay(0.01)
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.states(campaign_id)["sent"] >= 150, timeout=60)
    p.smtp.stop()
    outage_ends = time.monotonic() + 60
    p.run_until(lambda: p.campaign_waiting(campaign_id), timeout=30)
    with p.sessions() as s:
        stats = campaign_stats(s, campaign_id)
    assert stats["state"] == "sending" and stats["waiting"]["for"] == "relay"
    # The first reason is what the first thread met: a refused connection, or a connection cut
    # between MAIL and RCPT by the stop. The next try (after 2 s) can only be refused.
    p.run_until(lambda: "cannot connect to 127.0.0.1" in (p.wait_reason(campaign_id) or ""), timeout=30)
    assert "waits for the mail relay" in p.log()
    p.run_until(lambda: time.monotonic() >= outage_ends, timeout=90)
    assert p.campaign_state(campaign_id) == "sending"  # still waiting, not paused
    assert p.states(campaign_id)["sent"] < 800
    p.smtp.start()  # the same port, as a restarted relay
    p.run_until(lambda: p.campaign_state(campaign_id) == "sent", timeout=120)
    counts = p.smtp.count_by_recipient()
    assert set(counts) == set(emails) and set(counts.values()) == {1}
    assert p.states(campaign_id) == Counter({"sent": 800})
    assert not p.campaign_waiting(campaign_id)


def test_a_relay_that_refuses_our_login_stops_the_campaign_at_once(pipeline_factory):
    with SMTPTestServer(auth=("press", "right-password")) as relay:
        p = pipeline_factory(smtp_url=relay.url.replace("right-password", "wrong-password"))
        p.contacts(100)
        p.start_worker()
        campaign_id = p.campaign()
        started = time.monotonic()
        p.start(campaign_id)
        p.run_until(lambda: p.campaign_state(campaign_id) == "paused", timeout=30)
        assert time.monotonic() - started < 20
        with p.sessions() as s:
            reason = s.get(Campaign, campaign_id).state_reason
        assert reason.startswith("the mail relay refused our settings: ") and "login" in reason
        assert "DISTRIBUTE_SMTP_URL" in reason
        # Batches in hand are given back, untried: nobody's fault, nothing spent.
        p.run_until(lambda: "sending" not in p.states(campaign_id), timeout=20)
        assert p.states(campaign_id) == Counter({"queued": 100})
        assert relay.received == []


def test_a_database_outage_mid_campaign_recovers_on_its_own(pipeline_factory, pg_url):
    """PostgreSQL goes away for a while (every connection cut, none accepted): the workers wait
    for it with what they sent in hand, and the campaign completes with nobody unknown or twice."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    p = pipeline_factory(lease_seconds=60)
    emails = p.contacts(600)
    p.smtp.delay(0.01)
    p.start_worker()
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.states(campaign_id)["sent"] >= 100, timeout=60)
    before_outage = p.states(campaign_id)["sent"]
    url = make_url(pg_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                         {"name": url.database})
        p.engine.dispose()
        time.sleep(10)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    p.run_until(lambda: p.campaign_state(campaign_id) == "sent", timeout=180)
    counts = p.smtp.count_by_recipient()
    assert set(counts) == set(emails) and set(counts.values()) == {1}
    assert p.states(campaign_id) == Counter({"sent": 600})
    # The outage came mid-campaign. (Which writes it caught varies: a sent message's outcome waits
    # for the database; a batch caught while claiming fails and its rows come back after the lease.)
    assert before_outage < 600


def test_cancel_counts_what_it_cancelled_and_a_followed_send_ends_saying_so(pipeline_factory):
    """`campaigns cancel` with workers mid-batch: the count it prints is what stats show after."""
    import json

    p = pipeline_factory()
    p.contacts(1500)
    p.smtp.delay(0.01)
    p.start_worker(concurrency=4)
    campaign_id = p.campaign()
    p.start(campaign_id)
    p.run_until(lambda: p.states(campaign_id)["sent"] >= 100, timeout=60)
    distribute = str(Path(sys.executable).with_name("distribute"))
    done = subprocess.run([distribute, "campaigns", "cancel", str(campaign_id), "--json"], env=p.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    p.run_until(lambda: "sending" not in p.states(campaign_id), timeout=60)
    final = p.states(campaign_id)
    assert printed["cancelled"] == final["cancelled"] and printed["in_hand"] == 0
    assert printed["sent"] == final["sent"] and final["sent"] + final["cancelled"] == 1500
    # `distribute send` follows the workers; cancelled meanwhile, it ends saying so, and exits 1.
    with p.sessions() as s:
        slug = s.scalar(select(Release.slug))
    follower = subprocess.Popen([distribute, "send", slug, "--to", "press", "--again"], env=p.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = campaign_id + 1
    p.run_until(lambda: p.states(second)["sent"] >= 50, timeout=60)
    with p.sessions() as s, s.begin():
        ops.cancel(s, second)
    output, _ = follower.communicate(timeout=60)
    assert follower.returncode == 1, output
    assert f"campaign {second} cancelled: cancelled by an operator" in output
