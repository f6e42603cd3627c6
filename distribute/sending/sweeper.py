"""The periodic sweep: start campaigns that are due, and repair what crashes leave behind.

Runs every DISTRIBUTE_SWEEP_SECONDS (Celery beat in production, a loop in the embedded mode).
Each step is a guarded UPDATE, so two sweeps at once (two schedulers) do no harm.

- A `sending` delivery whose lease ran out: its worker died or lost it. Not attempted yet →
  back to `queued`. Attempted but no outcome → `unknown`: it may have been delivered, and a
  journalist getting a release twice is worse than an operator deciding (`retry --unknown`).
- A `deferred` delivery whose retry time has come → `queued`.
- A `queued` delivery of a sending campaign with no live lease (never enqueued, or its broker
  message was lost, e.g. Redis restarted) → put on the broker again.
- A started campaign that never finished its fan-out → fan-out again (it is idempotent).
- A sending campaign with nothing left to send → `sent`.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from distribute import states
from distribute.config import Settings
from distribute.deliveries import moves
from distribute.sending.campaigns import of_cancelled_campaign, settle_cancelled
from distribute.sending.fanout import Broker, enqueue_pending, finish_if_done, start_campaign
from distribute.models import Campaign, Delivery, Event, utcnow

log = logging.getLogger(__name__)


def start_due(sessions: sessionmaker[Session], settings: Settings, broker: Broker, now: dt.datetime | None = None) -> list[int]:
    now = now or utcnow()
    stalled = now - dt.timedelta(seconds=settings.lease_seconds)
    with sessions() as session:
        due = session.scalars(
            select(Campaign.id).where(
                (Campaign.state == states.SCHEDULED) & (Campaign.scheduled_at <= now)
                | (Campaign.state == states.SENDING) & Campaign.fanned_out_at.is_(None) & (Campaign.started_at < stalled)
            ).order_by(Campaign.scheduled_at)
        ).all()
    started = []
    for campaign_id in due:
        if start_campaign(sessions, settings, broker, campaign_id, now) or _fanned_out(sessions, campaign_id):
            started.append(campaign_id)
    return started


def _fanned_out(sessions, campaign_id: int) -> bool:
    with sessions() as session:
        return session.scalar(select(Campaign.fanned_out_at).where(Campaign.id == campaign_id)) is not None


def reconcile(sessions: sessionmaker[Session], settings: Settings, broker: Broker, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    report = {"requeued": 0, "unknown": 0, "retry_due": 0, "enqueued": 0, "finished": 0, "cancelled": 0, "reopened": 0}
    with sessions() as session, session.begin():
        expired = Delivery.lease_until < now  # of a `sending` row: its worker died or lost it
        cancelled_campaigns = of_cancelled_campaign()
        released = {"claimed_by": None, "lease_until": None, "updated_at": now}
        report["cancelled"] = moves.move(session, states.DELIVERY_CANCELLED, cancelled_campaigns, expired,
                                         Delivery.attempt_started_at.is_(None),
                                         sources=(states.DELIVERY_SENDING,), values=released)
        # Never attempted: safe to send.
        report["requeued"] = moves.move(session, states.QUEUED, expired, Delivery.attempt_started_at.is_(None),
                                        sources=(states.DELIVERY_SENDING,), values=released)
        # Attempted, outcome never recorded: say so, never resend on our own.
        unknown = moves.move(
            session, states.UNKNOWN, expired, Delivery.attempt_started_at.is_not(None), sources=(states.DELIVERY_SENDING,),
            values=released | {"last_reply": "the worker stopped during the SMTP transaction: its reply was never read"},
            returning=(Delivery.id, Delivery.campaign_id))
        session.add_all(Event(delivery_id=r.id, campaign_id=r.campaign_id, type=states.UNKNOWN, source="reconciler",
                              data={"reason": "lease expired after the SMTP transaction began"}) for r in unknown)
        report["unknown"] = len(unknown)
        # A campaign marked sent while an operator's retry re-queued rows: it is sending again.
        report["reopened"] = session.execute(
            update(Campaign).where(Campaign.state == states.SENT, exists(
                select(Delivery.id).where(Delivery.campaign_id == Campaign.id, Delivery.state.in_(states.UNFINISHED))
            )).values(state=states.SENDING, finished_at=None)
        ).rowcount
        report["retry_due"] = moves.move(session, states.QUEUED, Delivery.next_attempt_at <= now, ~cancelled_campaigns,
                                         sources=(states.DEFERRED,), values={"lease_until": None, "updated_at": now})
        sending = session.scalars(
            select(Campaign.id).where(Campaign.state == states.SENDING, Campaign.fanned_out_at.is_not(None))
        ).all()
    with sessions() as session, session.begin():
        # A cancelled campaign's rows that nobody is sending end cancelled, whichever way they
        # came back: a deferral recorded after the cancel, a release racing it, a requeue above.
        report["cancelled"] += settle_cancelled(session)
    for campaign_id in sending:
        report["enqueued"] += enqueue_pending(sessions, settings, broker, campaign_id, now)
        with sessions() as session, session.begin():
            report["finished"] += finish_if_done(session, campaign_id)
    if any(report.values()):
        log.info("sweep: %s", report)
    return report


def sweep(sessions: sessionmaker[Session], settings: Settings, broker: Broker) -> dict[str, int]:
    now = utcnow()
    started = start_due(sessions, settings, broker, now)
    report = reconcile(sessions, settings, broker, now)
    report["started"] = len(started)
    return report
