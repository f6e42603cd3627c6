"""The worker's send loop: claim a batch, then for each delivery build, send, record.

Celery delivers a task at least once and can lose one; the database makes each message go out
at most once:
- a batch is claimed by one UPDATE (`queued` → `sending`, with this run's token and a lease);
  a second copy of the task finds nothing left to claim;
- just before the SMTP transaction the row is marked as attempted (same token required, and the
  address re-checked against suppressions and unsubscribes) and committed; the outcome is
  recorded right after. A crash in between leaves at most one row per connection marked
  attempted with no outcome, and the sweep records it `unknown` instead of sending it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import Connection, and_, bindparam, exists, func, insert, not_, select, true, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from distribute import states
from distribute.sending.campaigns import move, relay_answers, stop_for_relay_settings, wait_for_relay, waiting
from distribute.config import Settings
from distribute.deliveries import moves
from distribute.feedback.bounces.classify import bounce_kind
from distribute.sending.fanout import finish_if_done
from distribute.feedback.policy import apply_bounce_policy
from distribute.sending.message import MessageBuilder, Recipient
from distribute.models import Campaign, Contact, Delivery, Event, Suppression, utcnow
from distribute.releases.rendering import CompiledMessage
from distribute.feedback.replies import Verdict, classify_reply
from distribute.transport.interface import (Envelope, PermanentSendError, RelayConfigError, RelayUnavailable,
                                            SendError, TransientSendError, Transport)

log = logging.getLogger(__name__)

STATE_CHECK_SECONDS = 1.0  # how soon a pause or cancel reaches a running batch
RELAY_DOWN = "relay-down"  # a send outcome: the message goes back to the queue, the batch stops
DB_RETRY_SECONDS = 60.0  # how long a sent message's outcome waits for the database to come back
BREAKER_EVERY = 50  # outcomes between circuit-breaker checks


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
            claimed = [r.id for r in moves.move(
                session, states.DELIVERY_SENDING, Delivery.id.in_(delivery_ids), Delivery.campaign_id == campaign_id,
                sources=(states.QUEUED,), values={"claimed_by": token, "lease_until": self.lease(now), "updated_at": now},
                returning=(Delivery.id,))]
            rows = session.execute(
                select(Delivery.id, Delivery.ref, Delivery.email, Delivery.name, Delivery.outlet, Delivery.domain,
                       Delivery.attempts, Delivery.first_attempt_at)
                .where(Delivery.id.in_(claimed)).order_by(Delivery.id)
            ).all()
            builder = self.builder(campaign)
        if len(rows) < len(delivery_ids):
            # Normal when Celery delivers a task twice (visibility timeout, a restored message):
            # the other copy holds or has finished these rows.
            log.info("campaign %s: %d of %d deliveries already claimed elsewhere or finished",
                     campaign_id, len(delivery_ids) - len(rows), len(delivery_ids))
        counts: dict[str, int] = {"claimed": len(rows)}
        # One connection for the whole batch: a transaction per message, no pool checkout each time.
        with self.sessions.kw["bind"].connect() as conn:
            run = _Run(self, conn, campaign, builder, token)
            checked = time.monotonic()
            try:
                for index, row in enumerate(rows):
                    if time.monotonic() - checked > STATE_CHECK_SECONDS:
                        checked = time.monotonic()
                        run.flush()
                        state, wait_until = conn.execute(
                            select(Campaign.state, Campaign.wait_until).where(Campaign.id == campaign_id)).one()
                        conn.rollback()
                        if state != states.SENDING or (wait_until and wait_until > utcnow()):
                            counts["released"] = self._release(conn, token, state)
                            break
                    outcome = run.send(row)
                    counts[outcome] = counts.get(outcome, 0) + 1
                    if outcome == RELAY_DOWN:
                        counts["released"] = self._release(conn, token, states.SENDING)
                        break
                    if outcome == "skipped":
                        checked = float("-inf")  # perhaps paused or cancelled: look before the next one
                    if (index + 1) % BREAKER_EVERY == 0:
                        run.flush()
                        self.check_breaker(campaign_id)
            finally:
                run.flush()  # whatever happened, the last outcome is written (or left for the sweep)
        self.check_breaker(campaign_id)
        with self.sessions() as session, session.begin():
            finish_if_done(session, campaign_id)
        return counts

    def lease(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.settings.lease_seconds)

    @staticmethod
    def _release(conn, token: str, campaign_state: str | None) -> int:
        """Give back this run's claimed, unattempted rows: to the queue on pause, to `cancelled`
        on cancel."""
        target = states.DELIVERY_CANCELLED if campaign_state == states.CANCELLED else states.QUEUED
        with conn.begin():
            return moves.move(conn, target, Delivery.claimed_by == token, Delivery.attempt_started_at.is_(None),
                              sources=(states.DELIVERY_SENDING,),
                              values={"claimed_by": None, "lease_until": None, "updated_at": utcnow()})

    # --- circuit breaker ---------------------------------------------------------------------

    def check_breaker(self, campaign_id: int) -> str | None:
        """Pause the campaign if its bounce or error rate is over the threshold after the sample."""
        s = self.settings
        with self.sessions() as session, session.begin():
            # Outcomes since the last resume only: an operator who resumed decided about the rest.
            since = session.scalar(select(Campaign.resumed_at).where(Campaign.id == campaign_id))
            recent = Delivery.updated_at >= since if since else true()
            counts = dict(session.execute(
                select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id, recent)
                .group_by(Delivery.state)
            ).all())
            bounced = counts.get(states.BOUNCED, 0)
            errors = counts.get(states.DELIVERY_FAILED, 0) + counts.get(states.DEFERRED, 0)
            attempted = counts.get(states.DELIVERED, 0) + counts.get(states.COMPLAINED, 0) + bounced + errors
            if attempted < s.breaker_min_sample:
                return None
            reason = None
            if bounced / attempted > s.breaker_bounce_rate:
                reason = (f"circuit breaker: {bounced} of {attempted} attempted messages bounced "
                          f"({bounced / attempted:.1%} > {s.breaker_bounce_rate:.0%}); check the list and the replies, then resume")
            elif errors / attempted > s.breaker_error_rate:
                reason = (f"circuit breaker: {errors} of {attempted} attempted messages failed or were deferred "
                          f"({errors / attempted:.1%} > {s.breaker_error_rate:.0%}); check the relay, then resume")
            if reason:
                campaign = session.get(Campaign, campaign_id)
                if campaign.state == states.SENDING and move(session, campaign, states.PAUSED, reason):
                    log.warning("campaign %s paused: %s", campaign_id, reason)
                    return reason
        return None


# Statements built once: a worker runs them for every message.
_WANTED = and_(
    not_(exists(select(Suppression.id).where(Suppression.email_key == Delivery.email_key))),
    not_(exists(select(Contact.id).where(Contact.id == Delivery.contact_id, Contact.status != "active"))),
)
_MINE = (Delivery.id == bindparam("b_id"), Delivery.claimed_by == bindparam("b_token"))
# Checked with every attempt, so a pause, a cancel or a wait for the relay stops a batch before
# its next message.
_CAMPAIGN_SENDING = exists(select(Campaign.id).where(Campaign.id == Delivery.campaign_id, Campaign.state == states.SENDING,
                                                     not_(waiting(bindparam("b_now")))))
_MARK = update(Delivery).where(*_MINE, Delivery.state == states.DELIVERY_SENDING, _WANTED, _CAMPAIGN_SENDING).values(
    attempt_started_at=bindparam("b_now"), attempts=Delivery.attempts + 1,
    first_attempt_at=func.coalesce(Delivery.first_attempt_at, bindparam("b_now")),
    lease_until=bindparam("b_lease"), updated_at=bindparam("b_now"),
)
# The moves of the state (distribute.deliveries.moves): each counts itself in the same statement.
_UNWANTED = moves.Prepared(states.DELIVERY_SENDING, states.SUPPRESSED, *_MINE, _CAMPAIGN_SENDING, values=dict(
    claimed_by=None, lease_until=None, updated_at=bindparam("b_now"),
    last_reply="suppressed or unsubscribed after the campaign started",
))
OUTCOMES = (states.DELIVERED, states.DEFERRED, states.BOUNCED, states.DELIVERY_FAILED)
_RECORD = moves.Prepared(states.DELIVERY_SENDING, bindparam("b_state"), *_MINE, targets=OUTCOMES, values=dict(
    claimed_by=None, lease_until=None, attempt_started_at=None,
    updated_at=bindparam("b_now"), last_code=bindparam("b_code"), last_reply=bindparam("b_reply"),
    next_attempt_at=bindparam("b_next"), sent_at=bindparam("b_sent_at"), message_id=bindparam("b_message_id"),
    bounce_kind=bindparam("b_kind"),
))
# The relay never took the message: as if it had not been tried, back to the queue.
_UNTRIED = moves.Prepared(states.DELIVERY_SENDING, states.QUEUED, *_MINE, values=dict(
    claimed_by=None, lease_until=None, attempt_started_at=None,
    attempts=Delivery.attempts - 1, first_attempt_at=bindparam("b_first"), updated_at=bindparam("b_now"),
))
_EVENT = insert(Event)


class _Run:
    """One batch on one connection. A message's outcome is written in the same transaction that
    marks the next message as attempted: one commit per message, and still at most one message
    whose fate a crash can leave unknown."""

    def __init__(self, sender: Sender, conn: Connection, campaign: Campaign, builder: MessageBuilder, token: str):
        self.sender, self.conn, self.campaign, self.builder, self.token = sender, conn, campaign, builder, token
        self.settings = sender.settings
        self.pending: dict | None = None  # the last outcome, not yet written
        # The campaign was waiting for the relay when this batch began: the first message the
        # relay takes ends the wait.
        self.relay_was_down = campaign.wait_since is not None

    def send(self, row) -> str:
        try:
            message = self.builder.build(Recipient(row.email, row.name, row.outlet), row.ref)
        except Exception as exc:  # one recipient's bad data must not stop the batch
            log.exception("delivery %s: could not build the message", row.id)
            self.flush()  # the previous message's outcome first: one pending outcome at a time
            self.pending = self._outcome(row, states.DELIVERY_FAILED, None, f"could not build the message: {exc}",
                                         {"error": type(exc).__name__})
            return states.DELIVERY_FAILED
        if self.sender.rate_limiter.try_acquire(row.domain) > 0:
            self.flush()  # write the last outcome before waiting, not after
            self.sender.rate_limiter.acquire(row.domain)
        if not self._mark(row):
            return "skipped"
        envelope = Envelope(sender=self.builder.return_path(row.ref), recipient=row.email, ref=row.ref,
                            campaign_ref=self.campaign.ref)
        try:
            result = self.sender.transport().send(envelope, message)
            code, reply = result.code, result.reply
            verdict = classify_reply(code, reply)
        except (RelayUnavailable, RelayConfigError) as exc:
            self._relay_failed(row, exc)
            return RELAY_DOWN
        except (TransientSendError, PermanentSendError) as exc:
            code, reply, verdict = exc.code, exc.reply, exc.verdict
        state, data, next_at = self._judge(row, verdict, code, reply)
        self.pending = self._outcome(row, state, code, reply, data, next_at=next_at)
        if self.relay_was_down and state == states.DELIVERED:
            self._relay_back()
        return state

    def _relay_failed(self, row, exc: SendError) -> None:
        """The relay, not the recipient: the message goes back untried, and the campaign waits
        for the relay (or stops, when our settings are what it refuses)."""
        now = utcnow()
        campaign_id = self.campaign.id
        with self.conn.begin():
            _UNTRIED.run(self.conn, {"b_id": row.id, "b_token": self.token, "b_now": now, "b_first": row.first_attempt_at})
            if isinstance(exc, RelayConfigError):
                if stop_for_relay_settings(self.conn, campaign_id, str(exc)):
                    log.error("campaign %s paused: the mail relay refused our settings: %s", campaign_id, exc)
                return
            outcome = wait_for_relay(self.conn, campaign_id, str(exc), self.settings, now)
            until = self.conn.scalar(select(Campaign.wait_until).where(Campaign.id == campaign_id))
        if outcome == "paused":
            log.error("campaign %s paused: the mail relay has been down too long: %s", campaign_id, exc)
        elif outcome == "waiting":
            log.warning("campaign %s waits for the mail relay until %s: %s", campaign_id,
                        until.strftime("%H:%M:%S") if until else "?", exc)
        self.relay_was_down = True

    def _relay_back(self) -> None:
        self.flush()
        with self.conn.begin():
            relay_answers(self.conn, self.campaign.id)
        self.relay_was_down = False
        log.info("campaign %s: the mail relay answers again", self.campaign.id)

    def _mark(self, row) -> bool:
        """Commit 'about to send' (with the previous outcome) if the row is still ours and wanted."""
        def mark() -> bool:
            now = utcnow()
            params = {"b_id": row.id, "b_token": self.token, "b_now": now}
            with self.conn.begin():
                self._write_pending()
                marked = bool(self.conn.execute(_MARK, params | {"b_lease": self.sender.lease(now)}).rowcount)
                # Not marked: not ours any more, the campaign stopped (the loop releases the rest), or
                # the address was suppressed or unsubscribed since fan-out.
                if not marked and _UNWANTED.run(self.conn, params):
                    self.conn.execute(_EVENT, self._event(row.id, states.SUPPRESSED, "sender", {"at": "send time"}))
            return marked

        marked = self._retrying(mark)
        self.pending = None  # written: the transaction committed
        return marked

    def _retrying(self, write: Callable[[], Any]) -> Any:
        """Run a write, again if the database went away (a restart, a failover) for up to
        DB_RETRY_SECONDS. The outcome of a message already sent is only in memory until it is
        written: giving up at once would leave it `unknown` for an operator. The row stays ours
        meanwhile (its lease is longer), and every write here is guarded by our claim token, so
        running one twice changes nothing more."""
        deadline = time.monotonic() + DB_RETRY_SECONDS
        pause = 0.5
        while True:
            try:
                return write()
            except (OperationalError, InterfaceError) as exc:
                if time.monotonic() + pause > deadline:
                    raise
                log.warning("campaign %s: the database is not answering (%s); trying again in %.1f s",
                            self.campaign.id, str(exc.orig or exc).splitlines()[0], pause)
                try:
                    self.conn.rollback()  # an invalidated connection reconnects on its next use
                except (OperationalError, InterfaceError):
                    pass
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _judge(self, row, verdict: Verdict, code: int | None, reply: str) -> tuple[str, dict, dt.datetime | None]:
        data = {"code": code, "reply": reply, "category": verdict.category, "status": verdict.status}
        if verdict.action == "sent":
            return states.DELIVERED, data, None
        if verdict.action == "bounce":
            # The same judgement as an asynchronous bounce's (distribute.feedback.bounces.classify).
            return states.BOUNCED, data | {"hard": verdict.hard, "kind": bounce_kind(verdict)}, None
        # Temporary: try again later with exponential backoff and jitter, until the lifetime ends.
        s = self.settings
        now = utcnow()
        attempts = (row.attempts or 0) + 1
        delay = min(s.retry_max_seconds, s.retry_base_seconds * 2 ** (attempts - 1))
        delay = random.uniform(delay / 2, delay) if delay else 0.0
        first = row.first_attempt_at or now
        if (now + dt.timedelta(seconds=delay) - first).total_seconds() > s.delivery_lifetime_seconds:
            return states.DELIVERY_FAILED, data | {"gave_up_after_attempts": attempts}, None
        return states.DEFERRED, data, now + dt.timedelta(seconds=delay)

    def _outcome(self, row, state: str, code: int | None, reply: str | None, data: dict,
                 next_at: dt.datetime | None = None) -> dict:
        now = utcnow()
        return {
            "row": row, "state": state, "data": data, "kind": data.get("kind"),
            "params": {
                "b_id": row.id, "b_token": self.token, "b_state": state, "b_now": now, "b_code": code,
                "b_reply": (reply or "")[:1000] or None, "b_next": next_at,
                "b_sent_at": now if state == states.DELIVERED else None,
                "b_message_id": f"<{row.ref}@{self.settings.sender_domain}>" if state == states.DELIVERED else None,
                "b_kind": data.get("kind"),
            },
        }

    def _write_pending(self) -> None:
        """Write the last outcome in the caller's transaction; the caller clears it once committed."""
        pending = self.pending
        if pending is None:
            return
        if not _RECORD.run(self.conn, pending["params"]):
            return  # the row was taken from us (its lease ran out): the sweep decides
        row, params = pending["row"], pending["params"]
        if pending["state"] != states.DELIVERED:
            # A success is the delivery row itself (state, time, reply, Message-ID); events record
            # what went wrong and everything that comes back later. One insert less per message.
            source = "smtp" if params["b_code"] else "sender"
            self.conn.execute(_EVENT, self._event(row.id, pending["state"], source, pending["data"]))
        if pending["kind"]:
            apply_bounce_policy(self.conn, row.email.lower(), pending["kind"], f"{params['b_code']} {params['b_reply']}",
                                self.settings, params["b_now"])

    def flush(self) -> None:
        if self.pending is not None:
            def write() -> None:
                with self.conn.begin():
                    self._write_pending()

            self._retrying(write)
            self.pending = None

    def _event(self, delivery_id: int, type_: str, source: str, data: dict | None) -> dict:
        return {"delivery_id": delivery_id, "campaign_id": self.campaign.id, "type": type_, "source": source,
                "at": utcnow(), "data": data}
