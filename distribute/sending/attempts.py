"""One batch on one connection: for each claimed delivery, build, mark as attempted, send, record.

At most once: just before the SMTP transaction the row is marked as attempted (our claim token
required, the address re-checked against suppressions and unsubscribes, the campaign still
sending) and committed; the outcome is recorded right after. A crash in between leaves at most
one row per connection marked attempted with no outcome, and the sweep records it `unknown`
instead of sending it again.

Round trips: a message's outcome is written in the statement that marks the next message (one
statement, committed by itself: one round trip per message, and still at most one message whose
fate a crash can leave unknown). An outcome that needs more than its row (an event, a bounce's
suppression policy) is written with the next mark in one transaction instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from typing import Any, Callable

from sqlalchemy import Connection, and_, bindparam, case, exists, func, insert, not_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from distribute import states
from distribute.db import DriverStatement, transaction
from distribute.deliveries import moves
from distribute.feedback.bounces.classify import bounce_kind
from distribute.feedback.policy import apply_bounce_policy
from distribute.feedback.replies import Verdict, classify_reply
from distribute.models import Campaign, Contact, Delivery, Event, Suppression, utcnow
from distribute.sending.campaigns import relay_answers, stop_for_relay_settings, wait_for_relay, waiting
from distribute.sending.message import MessageBuilder, Recipient
from distribute.transport.interface import (Envelope, PermanentSendError, RelayConfigError, RelayUnavailable,
                                            SendError, TransientSendError)

log = logging.getLogger(__name__)

RELAY_DOWN = "relay-down"  # a send outcome: the message goes back to the queue, the batch stops
DB_RETRY_SECONDS = 60.0  # how long a sent message's outcome waits for the database to come back
RENEW_AFTER = 0.1  # the share of a claim's lease gone before the attempt mark renews it

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


def _marking(p: str):
    """The UPDATE that marks a row attempted, its parameters named with prefix `p` (so that it can
    share a statement with an outcome's, whose are `b_`).

    It changes no indexed column (the state moves with the outcome; `updated_at` too), and the
    lease the claim took is renewed only once a tenth of it has gone (RENEW_AFTER): PostgreSQL can
    then write the new row version beside the old one without a new entry in each of the table's
    indexes (a HOT update), most of the mark's cost. Most rows are marked within seconds of their
    claim; a marked row always keeps nine tenths of its lease for the SMTP transaction and the
    database retries (DB_RETRY_SECONDS) that follow."""
    now = bindparam(f"{p}_now")
    sending = exists(select(Campaign.id).where(Campaign.id == Delivery.campaign_id, Campaign.state == states.SENDING,
                                               not_(waiting(now))))
    lease = Delivery.lease_until
    return update(Delivery).where(
        Delivery.id == bindparam(f"{p}_id"), Delivery.claimed_by == bindparam("b_token"),
        Delivery.state == states.DELIVERY_SENDING, _WANTED, sending,
    ).values(attempt_started_at=now, attempts=Delivery.attempts + 1,
             first_attempt_at=func.coalesce(Delivery.first_attempt_at, now),
             lease_until=case((lease < bindparam(f"{p}_renew", type_=lease.type),
                               bindparam(f"{p}_lease", type_=lease.type)), else_=lease))


def renewal(now: dt.datetime, lease: dt.datetime) -> dt.datetime:
    """The mark renews a row's lease (to `lease`) when it ends before this: once a tenth has gone."""
    return lease - (lease - now) * RENEW_AFTER


_MARK = _marking("b")
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
# PostgreSQL: the last outcome (if any: with m_id alone the b_ parameters match no row) and the
# next mark, in one statement; selects (outcomes recorded, rows marked).
_RECORD_AND_MARK = DriverStatement(_RECORD.with_updates(_marking("m")))
_NOTHING = {"b_id": None, "b_state": states.DELIVERED, "b_now": None, "b_code": None, "b_reply": None,
            "b_next": None, "b_sent_at": None, "b_message_id": None, "b_kind": None}


class BatchRun:
    """One batch on one connection (see the module's docstring). `sender` is the worker's Sender:
    its settings, rate limiter, transport and lease."""

    def __init__(self, sender: Any, conn: Connection, campaign: Campaign, builder: MessageBuilder, token: str):
        self.sender, self.conn, self.campaign, self.builder, self.token = sender, conn, campaign, builder, token
        self.settings = sender.settings
        self.one_statement = conn.dialect.name == "postgresql"  # SQLite: the transaction, always
        if self.one_statement:
            conn.execution_options(isolation_level="AUTOCOMMIT")  # a transaction only where one is needed
        self.message_domain = self.settings.sender_domain
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
        with transaction(self.conn):
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
        with transaction(self.conn):
            relay_answers(self.conn, self.campaign.id)
        self.relay_was_down = False
        log.info("campaign %s: the mail relay answers again", self.campaign.id)

    def _mark(self, row) -> bool:
        """Commit 'about to send' (with the previous outcome) if the row is still ours and wanted."""
        marked = self._retrying(lambda: self._mark_once(row))
        self.pending = None  # written: committed with the mark
        return marked

    def _mark_once(self, row) -> bool:
        now = utcnow()
        lease = self.sender.lease(now)
        params = {"b_id": row.id, "b_token": self.token, "b_now": now, "b_lease": lease, "b_renew": renewal(now, lease)}
        pending = self.pending
        if self.one_statement and (pending is None or pending["state"] == states.DELIVERED):
            outcome = pending["params"] if pending else _NOTHING
            _RECORD.check(outcome)
            with self.conn.begin():  # one statement, committed by itself (the connection is in autocommit)
                _, marked = _RECORD_AND_MARK.one(self.conn, outcome | {
                    "b_token": self.token, "m_id": row.id, "m_now": now, "m_lease": lease, "m_renew": params["b_renew"]})
            if not marked:
                with transaction(self.conn):
                    self._unwanted(row, params)
            return bool(marked)
        with transaction(self.conn):
            # The mark before the outcome: rows before counters, as in the one statement above
            # (and as an erase takes them), so that the two never wait for each other.
            marked = bool(self.conn.execute(_MARK, params).rowcount)
            self._write_pending()
            if not marked:
                self._unwanted(row, params)
        return marked

    def _unwanted(self, row, params: dict) -> None:
        """Not marked: not ours any more, the campaign stopped (the loop releases the rest), or the
        address was suppressed or unsubscribed since fan-out (then it is recorded so)."""
        if _UNWANTED.run(self.conn, params):
            self.conn.execute(_EVENT, self._event(row.id, states.SUPPRESSED, "sender", {"at": "send time"}))

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
                    if self.one_statement:  # the new connection is not
                        self.conn.execution_options(isolation_level="AUTOCOMMIT")
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
                "b_message_id": f"<{row.ref}@{self.message_domain}>" if state == states.DELIVERED else None,
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
                with transaction(self.conn):
                    self._write_pending()

            self._retrying(write)
            self.pending = None

    def _event(self, delivery_id: int, type_: str, source: str, data: dict | None) -> dict:
        return {"delivery_id": delivery_id, "campaign_id": self.campaign.id, "type": type_, "source": source,
                "at": utcnow(), "data": data}
