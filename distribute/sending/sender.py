"""The worker's send loop: claim a batch, then for each delivery build, send, record.

Celery delivers a task at least once and can lose one; the database makes each message go out
at most once:
- a batch is claimed by one UPDATE (`queued` → `sending`, with this run's token and a lease);
  a second copy of the task finds nothing left to claim;
- each message is marked as attempted, committed, before its SMTP transaction, and its outcome
  recorded after (distribute.sending.attempts): a crash leaves at most one row per connection
  attempted with no outcome, and the sweep records it `unknown` instead of sending it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import BigInteger, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

from distribute import states
from distribute.config import Settings
from distribute.db import DriverStatement, transaction
from distribute.deliveries import counters, moves
from distribute.models import Campaign, Delivery, utcnow
from distribute.releases.rendering import CompiledMessage
from distribute.sending.attempts import RELAY_DOWN, BatchRun
from distribute.sending.campaigns import move, settle_cancelled
from distribute.sending.fanout import finish_if_done
from distribute.sending.message import MessageBuilder
from distribute.transport.interface import Transport

log = logging.getLogger(__name__)

STATE_CHECK_SECONDS = 1.0  # how soon a pause or cancel reaches a running batch
BREAKER_EVERY = 50  # outcomes between circuit-breaker checks
# What a batch's claim returns of each row it claimed: what sending it needs (no second query).
_SENT_WITH = (Delivery.id, Delivery.ref, Delivery.email, Delivery.name, Delivery.outlet, Delivery.domain,
              Delivery.attempts, Delivery.first_attempt_at)
_CLAIMED = dict(claimed_by=bindparam("b_token"), lease_until=bindparam("b_lease"), updated_at=bindparam("b_now"))
# PostgreSQL: the claim built once, its ids one array parameter, run as a prepared statement.
_CLAIM = DriverStatement(moves.Prepared(
    states.QUEUED, states.DELIVERY_SENDING, Delivery.id == any_(bindparam("b_ids", type_=ARRAY(BigInteger))),
    Delivery.campaign_id == bindparam("b_campaign"), values=_CLAIMED,
).returning(*_SENT_WITH))


def _claim(session: Session, campaign_id: int, ids: list[int], token: str, lease: dt.datetime, now: dt.datetime) -> list:
    """queued → sending with our token, for those of `ids` still queued: the rows to send."""
    params = {"b_ids": ids, "b_campaign": campaign_id, "b_token": token, "b_lease": lease, "b_now": now}
    if session.get_bind().dialect.name == "postgresql":
        return _CLAIM.all(session.connection(), params)
    return moves.move(session, states.DELIVERY_SENDING, Delivery.id.in_(ids), Delivery.campaign_id == campaign_id,
                      sources=(states.QUEUED,), values={"claimed_by": token, "lease_until": lease, "updated_at": now},
                      returning=_SENT_WITH)


@dataclass
class Sender:
    """What a worker keeps between batches: settings, database, one transport per thread."""

    settings: Settings
    sessions: sessionmaker[Session]
    transport_factory: Callable[[], Transport]
    rate_limiter: Any
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _builders: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def transport(self) -> Transport:
        transport = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._local.transport = self.transport_factory()
        return transport

    def close(self) -> None:
        transport = getattr(self._local, "transport", None)
        if transport is not None:
            transport.close()
            self._local.transport = None

    def builder(self, campaign: Campaign) -> MessageBuilder:
        builder = self._builders.get(campaign.id)
        if builder is None:
            compiled = CompiledMessage.from_dict(campaign.compiled)
            builder = MessageBuilder(compiled, self.settings, campaign_ref=campaign.ref)
            self._builders[campaign.id] = builder
            while len(self._builders) > 16:
                self._builders.popitem(last=False)
        return builder

    # --- one batch ---------------------------------------------------------------------------

    def send_batch(self, campaign_id: int, delivery_ids: list[int]) -> dict[str, int]:
        token = secrets.token_hex(8)
        now = utcnow()
        with self.sessions() as session, session.begin():
            campaign = session.get(Campaign, campaign_id)
            if campaign is None or campaign.state != states.SENDING:
                return {"claimed": 0}  # paused or cancelled: the rows wait, or were cancelled
            if campaign.wait_until and campaign.wait_until > now:
                # Waiting for the relay: off the broker, so the sweep queues them when it is time.
                session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.state == states.QUEUED)
                                .values(lease_until=None))
                return {"claimed": 0, "waiting": len(delivery_ids)}
            rows = sorted(_claim(session, campaign_id, delivery_ids, token, self.lease(now), now), key=lambda row: row.id)
            builder = self.builder(campaign)
        if len(rows) < len(delivery_ids):
            # Normal when Celery delivers a task twice (visibility timeout, a restored message):
            # the other copy holds or has finished these rows.
            log.info("campaign %s: %d of %d deliveries already claimed elsewhere or finished",
                     campaign_id, len(delivery_ids) - len(rows), len(delivery_ids))
        counts: dict[str, int] = {"claimed": len(rows)}
        # One connection for the whole batch: a transaction per message, no pool checkout each time.
        with self.sessions.kw["bind"].connect() as conn:
            run = BatchRun(self, conn, campaign, builder, token)
            checked = time.monotonic()
            unjudged = 0  # outcomes since the circuit breaker last looked
            try:
                for row in rows:
                    if time.monotonic() - checked > STATE_CHECK_SECONDS:
                        checked = time.monotonic()
                        if self._stopped(run, conn, campaign_id, token, counts):
                            break
                    outcome = run.send(row)
                    counts[outcome] = counts.get(outcome, 0) + 1
                    if outcome == RELAY_DOWN:
                        counts["released"] = self._release(conn, token, states.SENDING)
                        break
                    if outcome == "skipped":
                        checked = float("-inf")  # perhaps paused or cancelled: look before the next one
                    unjudged += 1
                    if unjudged == BREAKER_EVERY:
                        run.flush()
                        self.check_breaker(conn, campaign_id)
                        unjudged = 0
                else:
                    if checked == float("-inf"):
                        # The last message was skipped: if the campaign stopped, that row goes
                        # back now, not when its lease runs out.
                        self._stopped(run, conn, campaign_id, token, counts)
            finally:
                run.flush()  # whatever happened, the last outcome is written (or left for the sweep)
            if unjudged:
                self.check_breaker(conn, campaign_id)
            if counts.get("released") or counts.get(RELAY_DOWN) or counts.get(states.DEFERRED):
                with transaction(conn):  # perhaps given back after a cancel: then they end cancelled
                    settle_cancelled(conn, campaign_id)
            with transaction(conn):
                finish_if_done(conn, campaign_id)
        return counts

    def lease(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.settings.lease_seconds)

    def _stopped(self, run: BatchRun, conn, campaign_id: int, token: str, counts: dict[str, int]) -> bool:
        """Has the campaign been paused or cancelled, or is it waiting for the relay? Then this
        run's unattempted rows go back (`counts["released"]`)."""
        run.flush()
        state, wait_until = conn.execute(select(Campaign.state, Campaign.wait_until).where(Campaign.id == campaign_id)).one()
        conn.rollback()
        if state == states.SENDING and not (wait_until and wait_until > utcnow()):
            return False
        counts["released"] = self._release(conn, token, state)
        return True

    @staticmethod
    def _release(conn, token: str, campaign_state: str | None) -> int:
        """Give back this run's claimed, unattempted rows: to the queue on pause, to `cancelled`
        on cancel (a cancel after `campaign_state` was read: see send_batch's end)."""
        target = states.DELIVERY_CANCELLED if campaign_state == states.CANCELLED else states.QUEUED
        with transaction(conn):
            return moves.move(conn, target, Delivery.claimed_by == token, Delivery.attempt_started_at.is_(None),
                              sources=(states.DELIVERY_SENDING,),
                              values={"claimed_by": None, "lease_until": None, "updated_at": utcnow()})

    # --- circuit breaker ---------------------------------------------------------------------

    def check_breaker(self, conn, campaign_id: int) -> str | None:
        """Pause the campaign if its bounce or error rate is over the threshold after the sample.
        Read on the batch's connection (no pool checkout, no transaction of its own)."""
        reason = self._breaker_reason(conn, campaign_id)
        conn.rollback()  # ends the read (SQLite holds a read transaction until then)
        if reason:
            with self.sessions() as session, session.begin():
                campaign = session.get(Campaign, campaign_id)
                if campaign.state == states.SENDING and move(session, campaign, states.PAUSED, reason):
                    log.warning("campaign %s paused: %s", campaign_id, reason)
                    return reason
        return None

    def _breaker_reason(self, conn, campaign_id: int) -> str | None:
        s = self.settings
        # Outcomes since the last resume only: an operator who resumed decided about the rest.
        since = conn.scalar(select(Campaign.resumed_at).where(Campaign.id == campaign_id))
        if since is None:  # the whole campaign: its counters, without reading its deliveries
            counts = counters.state_totals(conn, [campaign_id])
        else:
            counts = dict(conn.execute(
                select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id,
                                                           Delivery.updated_at >= since)
                .group_by(Delivery.state)
            ).all())
        bounced = counts.get(states.BOUNCED, 0)
        errors = counts.get(states.DELIVERY_FAILED, 0) + counts.get(states.DEFERRED, 0)
        attempted = counts.get(states.DELIVERED, 0) + counts.get(states.COMPLAINED, 0) + bounced + errors
        if attempted < s.breaker_min_sample:
            return None
        if bounced / attempted > s.breaker_bounce_rate:
            return (f"circuit breaker: {bounced} of {attempted} attempted messages bounced "
                    f"({bounced / attempted:.1%} > {s.breaker_bounce_rate:.0%}); check the list and the replies, then resume")
        if errors / attempted > s.breaker_error_rate:
            return (f"circuit breaker: {errors} of {attempted} attempted messages failed or were deferred "
                    f"({errors / attempted:.1%} > {s.breaker_error_rate:.0%}); check the relay, then resume")
        return None
