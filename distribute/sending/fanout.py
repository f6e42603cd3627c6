"""Fan-out: a due campaign becomes one Delivery row per recipient, and batches of their ids go on
the broker.

The audience is resolved once, in the database: one INSERT … SELECT writes every row (eligible
recipients `queued`, suppressed or unsubscribed ones `suppressed` with the reason), so memory
stays flat however large the audience. The unique (campaign, address) key with ON CONFLICT DO
NOTHING makes a second run — two schedulers, a task delivered twice, a crash half way — add
nothing. Ids are put on the broker only after the rows are committed.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Iterator, Protocol

from sqlalchemy import String, case, cast, exists, func, literal, not_, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import FunctionElement

from distribute import states
from distribute.audience import resolve
from distribute.sending.campaigns import Audience, waiting
from distribute.config import Settings
from distribute.deliveries import moves
from distribute.db import insert_for, refresh_statistics, set_based
from distribute.sending.message import new_ref
from distribute.models import Campaign, Contact, Delivery, Release, Suppression, utcnow
from distribute.releases.rendering import compile_release
from distribute.releases.links import add_tracking
from distribute.audience.rule_sql import EmailDomain


class Broker(Protocol):
    def enqueue(self, campaign_id: int, delivery_ids: list[int]) -> None: ...


class RandomRef(FunctionElement):
    """A fresh random delivery reference per row, made by the database (24 hex characters)."""

    type = String()
    name = "random_ref"
    inherit_cache = True


@compiles(RandomRef, "sqlite")
def _random_ref_sqlite(element, compiler, **kw):
    return "lower(hex(randomblob(12)))"


@compiles(RandomRef, "postgresql")
def _random_ref_postgresql(element, compiler, **kw):
    return "substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)"


def claim_start(session: Session, campaign_id: int, now: dt.datetime) -> Campaign | None:
    """Atomically move a due campaign to `sending`; None if someone else did, or it is not due.

    A campaign already `sending` but not yet fanned out (its starter crashed) is returned too:
    fan-out is idempotent, so finishing it twice is safe.
    """
    started = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state.in_((states.DRAFT, states.SCHEDULED)), Campaign.scheduled_at <= now)
        .values(state=states.SENDING, started_at=now)
    ).rowcount
    campaign = session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        return None
    if started or (campaign.state == states.SENDING and campaign.fanned_out_at is None):
        return campaign
    return None


def insert_deliveries(session: Session, campaign: Campaign) -> int:
    """One INSERT … SELECT for the whole audience; returns the rows it added.

    One release, one copy per address: an address that already has a delivery of this release
    from another campaign (sent, or on its way) is written `skipped`, unless the campaign was
    made with `--again`. The release's row is locked first, so two campaigns of one release
    fanning out at once take turns and the second sees the first's rows (SQLite has one writer).
    """
    target = Audience.from_dict(campaign.audience)
    if target.test:
        return _insert_test(session, campaign, target)
    match = resolve.match_expression(session, segments=target.segments, lists=target.lists)
    reason = (
        select(Suppression.reason).where(Suppression.email_key == Contact.email_key).limit(1).scalar_subquery()
    )
    eligible = resolve.eligible()
    states_when = [(~eligible, literal(states.SUPPRESSED))]
    reasons_when = [(reason.is_not(None), literal("suppressed: ") + reason),
                    (~eligible, literal("contact is ") + Contact.status)]
    source, earlier = Contact.__table__, None
    if not campaign.again:
        session.execute(select(Release.id).where(Release.id == campaign.release_id).with_for_update())
        earlier = resolve.addresses_with_release(session, campaign.release_id, exclude=campaign.id)
        if earlier is not None:
            source = source.outerjoin(earlier, earlier.c.email_key == Contact.email_key)
            has_it = earlier.c.campaign_id.is_not(None)
            states_when.append((has_it, literal(states.SKIPPED)))
            reasons_when.append((has_it, literal("already has this release from campaign ")
                                 + cast(earlier.c.campaign_id, String())))
    rows = select(
        literal(campaign.id), Contact.id, RandomRef(), Contact.email, Contact.email_key, EmailDomain(Contact.email_key),
        Contact.name, Contact.outlet,
        case(*states_when, else_=literal(states.QUEUED)),
        case(*reasons_when, else_=literal(None, String())),
        literal(0), literal(utcnow()), literal(0), literal(0), literal(0),
    ).select_from(source).where(match)
    # Every column given: the writer runs the INSERT inside a statement of its own (to count the
    # rows), where the models' Python-side defaults are not filled in.
    insert = insert_for(session, Delivery).from_select(
        ["campaign_id", "contact_id", "ref", "email", "email_key", "domain", "name", "outlet", "state", "last_reply",
         "attempts", "updated_at", "opens", "human_opens", "clicks"],
        rows,
    ).on_conflict_do_nothing(index_elements=["campaign_id", "email_key"])
    with set_based(session) if earlier is not None else nullcontext():  # a join to earlier deliveries
        return moves.create(session, insert)


def _insert_test(session: Session, campaign: Campaign, target: Audience) -> int:
    known = {c.email_key: c for c in session.scalars(select(Contact).where(Contact.email_key.in_([a.lower() for a in target.test])))}
    values = []
    for address in target.test:
        contact = known.get(address.lower())
        values.append({
            "campaign_id": campaign.id, "contact_id": contact.id if contact else None, "ref": new_ref(),
            "email": address, "email_key": address.lower(), "domain": address.rpartition("@")[2].lower(),
            "name": contact.name if contact else None, "outlet": contact.outlet if contact else None,
            "state": states.QUEUED, "attempts": 0, "updated_at": utcnow(), "opens": 0, "human_opens": 0, "clicks": 0,
        })
    stmt = insert_for(session, Delivery).values(values).on_conflict_do_nothing(index_elements=["campaign_id", "email_key"])
    return moves.create(session, stmt)


# Deliveries a fan-out adds before it refreshes the planner's statistics: a claim that reads a
# smaller campaign whole costs little, and a test send need not ANALYZE a table of millions.
REFRESH_STATISTICS_AFTER = 1_000


def start_campaign(sessions: sessionmaker[Session], settings: Settings, broker: Broker, campaign_id: int,
                   now: dt.datetime | None = None) -> int:
    """Start a due campaign: compile its message once, write its deliveries, queue them.

    Returns the number of deliveries put on the broker (0 if the campaign was not ours to start).
    """
    now = now or utcnow()
    with sessions() as session, session.begin():
        campaign = claim_start(session, campaign_id, now)
        if campaign is None:
            return 0
        if campaign.compiled is None:
            # Compiled at start, not at creation: the embargo line depends on when it goes out.
            release = session.get(Release, campaign.release_id)
            compiled = compile_release(release, campaign.variant, settings, now=now)
            campaign.compiled = (add_tracking(compiled) if campaign.track else compiled).to_dict()
        added = insert_deliveries(session, campaign)
        campaign.fanned_out_at = now
    if added >= REFRESH_STATISTICS_AFTER:
        # Before the first batch goes out: the claims and top-ups look rows up by campaign and state.
        refresh_statistics(sessions.kw["bind"], Delivery, Delivery.campaign_id, Delivery.state)
    return enqueue_pending(sessions, settings, broker, campaign_id, now)


def enqueue_pending(sessions: sessionmaker[Session], settings: Settings, broker: Broker, campaign_id: int,
                    now: dt.datetime | None = None) -> int:
    """Top up the campaign's work on the broker: queued deliveries that are not on it (no live
    lease) go on in keyset batches, until `batches_in_flight` batches are there. The lease says
    how long the broker has to hand a row to a worker before the sweep puts it on again.

    A worker runs this after every batch: one connection, each statement committed by itself,
    and a batch is chosen and leased by one UPDATE."""
    last_id, total = 0, 0
    with (sessions.kw["bind"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
          _one_top_up_at_a_time(conn, campaign_id) as ours):
        if not ours:
            return 0
        now = now or utcnow()  # once it is our turn: the count and the lease are from now
        lease_until = now + dt.timedelta(seconds=settings.lease_seconds)
        free = or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
        # Not paused, cancelled, or waiting for the relay: the sweep comes back for those.
        sending = exists(select(Campaign.id).where(Campaign.id == campaign_id, Campaign.state == states.SENDING,
                                                   not_(waiting(now))))
        # Rows on the broker now: a range scan of the (state, lease_until) index.
        room = settings.batch_size * settings.batches_in_flight - conn.scalar(
            select(func.count()).select_from(Delivery).where(
                Delivery.state == states.QUEUED, Delivery.lease_until >= now, Delivery.campaign_id == campaign_id))
        while room > 0:
            # Rows someone else holds (the sweep, an erase) are passed over (PostgreSQL's SKIP
            # LOCKED), left to the next top-up or the sweep, rather than waited for; the UPDATE
            # checks again under the row lock that each row is still free.
            batch = select(Delivery.id).where(
                Delivery.campaign_id == campaign_id, Delivery.state == states.QUEUED, Delivery.id > last_id, free,
            ).order_by(Delivery.id).limit(min(settings.batch_size, room)).with_for_update(skip_locked=True)
            # A CTE, run once (PostgreSQL never folds one that locks into the UPDATE): the same subquery
            # run again for each row would pass over the rows it had just leased, and take more.
            batch = batch.cte("batch")
            taken = conn.scalars(
                update(Delivery).where(Delivery.id.in_(select(batch.c.id)), Delivery.state == states.QUEUED, free, sending)
                .values(lease_until=lease_until, claimed_by=None).returning(Delivery.id)
            ).all()
            if not taken:
                return total
            broker.enqueue(campaign_id, sorted(taken))  # after commit: a worker never looks for an uncommitted row
            last_id = max(taken)
            total += len(taken)
            room -= len(taken)
    return total


TOP_UP_LOCK = 0x746F7075  # PostgreSQL advisory locks (TOP_UP_LOCK, campaign id): one top-up per campaign
TOP_UP_WAIT_SECONDS = 5.0  # a top-up that takes longer is stuck (on the broker): the next one skips
_TOP_UPS_HERE = threading.Lock()  # SQLite: the embedded mode's one process


@contextmanager
def _one_top_up_at_a_time(conn, campaign_id: int) -> Iterator[bool]:
    """Workers finishing batches at once top up one after the other, each counting the room the
    one before left: together they fill the window, neither more (several counting the same room)
    nor less (one waiting for the other's rows, then stopping). PostgreSQL: a session advisory
    lock per campaign; SQLite: a lock in this process. Yields False when the turn does not come
    within TOP_UP_WAIT_SECONDS: the room is left to the next top-up or the sweep, rather than
    every thread that finishes a batch queueing behind one stuck on the broker."""
    if conn.dialect.name != "postgresql":
        if not _TOP_UPS_HERE.acquire(timeout=TOP_UP_WAIT_SECONDS):
            yield False
            return
        try:
            yield True
        finally:
            _TOP_UPS_HERE.release()
        return
    deadline = time.monotonic() + TOP_UP_WAIT_SECONDS
    while not conn.scalar(select(func.pg_try_advisory_lock(TOP_UP_LOCK, campaign_id))):
        if time.monotonic() >= deadline:
            yield False
            return
        time.sleep(0.01)
    try:
        yield True
    finally:
        try:
            conn.execute(select(func.pg_advisory_unlock(TOP_UP_LOCK, campaign_id)))
        except Exception:
            conn.invalidate()  # closed, with its lock: a pooled connection must not keep it
            raise


def finish_if_done(db, campaign_id: int) -> bool:
    """A sending campaign with nothing left to send is `sent`. One statement: a worker asks after
    every batch, and while rows are left the index finds the first one at once (a count would
    read every unfinished row: the whole campaign, at its start)."""
    left = exists(select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.state.in_(states.UNFINISHED)))
    return bool(db.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.state == states.SENDING, Campaign.fanned_out_at.is_not(None),
                               ~left)
        .values(state=states.SENT, finished_at=utcnow())
    ).rowcount)
