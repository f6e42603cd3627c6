"""Everything that comes back after sending, written as events and summed up on the delivery.

Every source (the pixel, the click redirect, the unsubscribe page, a DSN or ARF report from the
bounce mailbox, an ESP webhook) is turned at its edge into a `Signal` in the one vocabulary of
`states.FEEDBACK_TYPES`, and `record` is the only writer:

* the Event row is appended first; a signal with a `dedupe_key` that was recorded before (a
  webhook retried, a mailbox read twice) inserts nothing, and then nothing else happens either;
* the delivery's state moves only by `states.DELIVERY_TRANSITIONS`, through the one writer
  (distribute.deliveries.moves, compare-and-set), so a late signal (a "delivered" after a
  "bounced") is kept as an event but changes nothing, and counts never go twice;
* the campaign's counters (opens, clicks, first openers and clickers, unsubscribes, complaints,
  clicks per link) are added in the same transaction, once per batch, from the delivery rows
  read locked (FOR UPDATE) before the write;
* suppression policy (distribute.feedback.policy): a hard bounce, a complaint and an unsubscribe
  suppress the address at once; soft bounces suppress after `DISTRIBUTE_SOFT_BOUNCE_CAMPAIGNS`
  campaigns in a row; a refusal about us or the message ("block") never does.

Functions take a Session or a Connection: the sender records its own SMTP outcomes through the
same policy inside its transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, Text, bindparam, cast, case, func, insert, null, or_, select, true, update

from distribute import states
from distribute.config import Settings
from distribute.db import as_arrays, core, insert_for, unnested
from distribute.deliveries import counters, moves
from distribute.deliveries.counters import link_name
from distribute.feedback.engagement import machine_open, truncate_ip, truncate_ips
from distribute.feedback.policy import apply_bounce_policy, suppress_address
from distribute.models import Delivery, Event, utcnow

BOUNCE_KINDS = ("hard", "soft", "block")
RECORDED, DUPLICATE, UNMATCHED = "recorded", "duplicate", "unmatched"


@dataclass(frozen=True)
class Signal:
    type: str  # one of states.FEEDBACK_TYPES
    source: str  # pixel | link | unsubscribe | preferences | dsn | arf | ses | sendgrid | mailgun | postmark
    delivery_id: int | None = None
    ref: str | None = None  # the delivery's public reference, when the id is not known yet
    at: dt.datetime | None = None
    dedupe_key: str | None = None
    data: dict[str, Any] | None = None  # what the event means: URL, status, reason …
    raw: dict[str, Any] | None = None  # the source's own payload (IPs in it truncated), purged after the retention
    user_agent: str | None = None
    ip: str | None = None  # as received; stored truncated
    bounce_kind: str | None = None  # hard | soft | block, for "bounced"
    reason: str | None = None  # for "bounced": the reply or diagnostic, kept as the delivery's last reply
    # False: kept as an event only, with no effect on the delivery or the suppression list (a
    # report matched by an unsigned reference, or about another address than the delivery's).
    verified: bool = True

    def __post_init__(self):
        if self.type not in states.FEEDBACK_TYPES:
            raise ValueError(f"unknown feedback type {self.type!r}")
        if self.type == "bounced" and self.bounce_kind not in BOUNCE_KINDS:
            raise ValueError(f"a bounce needs a kind: {', '.join(BOUNCE_KINDS)}")


# What the event writer reads of a delivery: enough to move it, and to know whether a signal is
# its recipient's first open or click, and its outlet (for the counters).
_DELIVERY_COLUMNS = (Delivery.id, Delivery.campaign_id, Delivery.state, Delivery.email_key, Delivery.sent_at,
                     Delivery.ref, Delivery.first_opened_at, Delivery.first_human_open_at, Delivery.first_clicked_at,
                     Delivery.outlet)


def find_delivery(db, *, delivery_id: int | None = None, ref: str | None = None, lock: bool = False):
    """The delivery by id or reference; `lock`: FOR UPDATE, until the caller's transaction ends,
    so what it read (its state, its first open and click) stays true while it writes."""
    column, value = (Delivery.id, delivery_id) if delivery_id is not None else (Delivery.ref, ref)
    if value is None:
        return None
    query = select(*_DELIVERY_COLUMNS).where(column == value)
    return db.execute(query.with_for_update() if lock else query).first()


def record(db, signal: Signal, settings: Settings) -> str:
    """Record one signal: RECORDED, DUPLICATE (seen before: nothing done) or UNMATCHED (no such
    delivery: a forged or stray signal, ignored). The caller commits."""
    delivery = find_delivery(db, delivery_id=signal.delivery_id, ref=signal.ref, lock=True)
    if delivery is None:
        return UNMATCHED
    at = signal.at or utcnow()
    data = dict(signal.data or {})
    if signal.type == "opened":
        data["machine"] = _machine(delivery, signal, at, settings)
    if signal.type == "bounced":
        data["kind"] = signal.bounce_kind
    if not signal.verified:
        data["unverified"] = True
    values = {
        "delivery_id": delivery.id, "campaign_id": delivery.campaign_id, "type": signal.type,
        "source": signal.source, "at": at, "dedupe_key": signal.dedupe_key,
        "user_agent": (signal.user_agent or "")[:500] or None, "ip": truncate_ip(signal.ip),
    }
    # Absent rather than None: SQL NULL, not JSON null (the purge looks for IS NOT NULL).
    if data:
        values["data"] = data
    if signal.raw is not None:
        values["raw"] = truncate_ips(signal.raw)  # a client's IP in a payload is kept as truncated as the column
    if signal.dedupe_key is not None:
        inserted = db.execute(insert_for(db, Event).values(values).on_conflict_do_nothing(
            index_elements=["dedupe_key"]).returning(Event.id)).first()
        if inserted is None:
            return DUPLICATE
    else:
        db.execute(insert(Event).values(values))
    if signal.type in ENGAGEMENT:
        _count_hours(db, [(delivery.campaign_id, signal.type, at)])
    if signal.verified:
        _summarise(db, delivery, signal, data, at, settings)
    # After the summary, as record_engagement does: two writers add to the counters' rows in one order.
    if signal.type == "clicked":
        _count_links(db, [(delivery, data)])
    return RECORDED


ENGAGEMENT = ("opened", "clicked")


def record_engagement(db, signals: list[Signal], settings: Settings) -> int:
    """Record many opens and clicks at once (the web app's buffered writes): one SELECT resolves
    every reference, one multi-row INSERT appends the events, one UPDATE per delivery adds them
    up. The same result as `record` one by one, at a few statements per batch instead of three
    per signal. Returns how many matched a delivery."""
    refs = {s.ref for s in signals if s.ref}
    ids = {s.delivery_id for s in signals if s.delivery_id is not None}
    rows = []
    if refs or ids:
        # Locked in id order: two web processes writing batches at once take the rows in the same
        # order (no deadlock), and what was read (first open, first click) stays true until commit.
        rows = db.execute(select(*_DELIVERY_COLUMNS).where(or_(Delivery.ref.in_(refs), Delivery.id.in_(ids)))
                          .order_by(Delivery.id).with_for_update()).all()
    by_ref = {r.ref: r for r in rows}
    by_id = {r.id: r for r in rows}
    events: list[dict] = []
    engaged: list[tuple[Any, str, dict, dt.datetime]] = []
    for signal in signals:
        if signal.type not in ENGAGEMENT or signal.dedupe_key is not None:
            raise ValueError("record_engagement takes opens and clicks without dedupe keys")
        delivery = by_id.get(signal.delivery_id) if signal.delivery_id is not None else by_ref.get(signal.ref)
        if delivery is None:
            continue
        at = signal.at or utcnow()
        data = dict(signal.data or {})
        if signal.type == "opened":
            data["machine"] = _machine(delivery, signal, at, settings)
        engaged.append((delivery, signal.type, data, at))
        events.append({"delivery_id": delivery.id, "campaign_id": delivery.campaign_id, "type": signal.type,
                       "source": signal.source, "at": at, "data": data,
                       "user_agent": (signal.user_agent or "")[:500] or None, "ip": truncate_ip(signal.ip)})
    if events:
        if _dialect(db) == "postgresql":
            core(db).execute(_INSERT_EVENTS, as_arrays("e", _EVENT_COLUMNS, [
                e | {"data": json.dumps(e["data"])} for e in events]))
        else:
            core(db).execute(insert(Event), events)
        _count_hours(db, [(delivery.campaign_id, type_, at) for delivery, type_, _, at in engaged])
        _engage(db, engaged)
        _count_links(db, [(delivery, data) for delivery, type_, data, _ in engaged if type_ == "clicked"])
    return len(events)


def _engage(db, engaged: list[tuple[Any, str, dict, dt.datetime]]) -> None:
    """Add opens and clicks (their events written) to their deliveries, one UPDATE per delivery,
    and to the campaign counters: times, and recipients for whom it is the first. The deliveries
    were read locked, before this, so their first_* columns say what came before."""
    totals: dict[int, dict] = {}
    rows = {}
    for delivery, type_, data, at in engaged:
        _add(totals.setdefault(delivery.id, _totals(delivery.id)), type_, data, at)
        rows[delivery.id] = delivery
    deltas: Counter = Counter()
    outlets: Counter = Counter()
    for delivery_id, t in totals.items():
        row = rows[delivery_id]
        for name, n, first_before in (("opened", t["b_opens"], row.first_opened_at),
                                      ("opened_human", t["b_human"], row.first_human_open_at),
                                      ("clicked", t["b_clicks"], row.first_clicked_at)):
            if n and first_before is None:
                deltas[row.campaign_id, name] += 1
                if row.outlet and name != "opened_human":
                    outlets[row.campaign_id, row.outlet, name] += 1
        deltas[row.campaign_id, "opens"] += t["b_opens"]
        deltas[row.campaign_id, "opens_human"] += t["b_human"]
        deltas[row.campaign_id, "clicks"] += t["b_clicks"]
    added = sorted(totals.values(), key=lambda t: t["b_id"])
    if _dialect(db) == "postgresql":
        core(db).execute(_ADD_ENGAGEMENT, as_arrays("b", _ENGAGEMENT_COLUMNS, added))
    else:
        core(db).execute(_ADD_ENGAGEMENT_EACH, added)
    counters.add(db, deltas, outlets=outlets)


def _count_hours(db, engaged: list[tuple[int, str, dt.datetime]]) -> None:
    """Add opens and clicks (their events written) to the time chart: (campaign, type, at) each."""
    counters.add(db, Counter(), hours=Counter((campaign_id, counters.hour_of(at), type_)
                                              for campaign_id, type_, at in engaged))


_LINK = Event.data["link"].as_integer()


def _clicks_per_link():
    """PostgreSQL: the clicked events per (delivery, link) of the deliveries bound as an array,
    read delivery by delivery (LATERAL) through the index on delivery_id. A plain IN over the
    batch lets the planner take the (campaign, type) index instead when the table's statistics
    lag behind a burst of clicks, reading every click of the campaign for every batch."""
    batch = unnested("k", {"id": BigInteger()})
    per = (select(_LINK.label("link"), func.count().label("n"))
           .where(Event.delivery_id == batch.c.id, Event.type == "clicked").group_by(_LINK).lateral("per"))
    return select(batch.c.id, per.c.link, per.c.n).select_from(batch.join(per, true()))


_CLICKS_PER_LINK = _clicks_per_link()


def _count_links(db, clicks: list[tuple[Any, dict]]) -> None:
    """Count clicks (their events written) per link of the campaign, and the recipients for whom
    it is the first click on that link: those whose events now hold exactly this batch's clicks."""
    batch: Counter = Counter()
    campaign_of = {}
    for delivery, data in clicks:
        if isinstance(data.get("link"), int):
            batch[delivery.id, data["link"]] += 1
            campaign_of[delivery.id] = delivery.campaign_id
    if not batch:
        return
    if _dialect(db) == "postgresql":
        stored = dict(((d, n), c) for d, n, c in core(db).execute(_CLICKS_PER_LINK, as_arrays(
            "k", ("id",), [{"id": delivery_id} for delivery_id in sorted(campaign_of)])))
    else:
        stored = {(d, n): c for d, n, c in db.execute(
            select(Event.delivery_id, _LINK, func.count())
            .where(Event.delivery_id.in_(list(campaign_of)), Event.type == "clicked").group_by(Event.delivery_id, _LINK))}
    deltas: Counter = Counter()
    for (delivery_id, n), count in batch.items():
        campaign_id = campaign_of[delivery_id]
        deltas[campaign_id, link_name(n, "clicks")] += count
        if stored.get((delivery_id, n), 0) == count:
            deltas[campaign_id, link_name(n, "recipients")] += 1
    counters.add(db, deltas)


def _machine(delivery, signal: Signal, at: dt.datetime, settings: Settings) -> str | None:
    seconds = (at - delivery.sent_at).total_seconds() if delivery.sent_at else None
    return machine_open(signal.user_agent, signal.ip, seconds, settings.machine_open_seconds)


def _totals(delivery_id: int) -> dict:
    return {"b_id": delivery_id, "b_opens": 0, "b_human": 0, "b_clicks": 0,
            "b_open_at": None, "b_human_at": None, "b_click_at": None}


def _add(t: dict, type_: str, data: dict, at: dt.datetime) -> None:
    """Add one open or click to a delivery's totals (the parameters of _ADD_ENGAGEMENT)."""
    def first(key):
        t[key] = at if t[key] is None else min(t[key], at)

    if type_ == "opened":
        t["b_opens"] += 1
        first("b_open_at")
        if data.get("machine") is None:
            t["b_human"] += 1
            first("b_human_at")
    else:
        t["b_clicks"] += 1
        first("b_click_at")


def _first(column, value):
    return case((column.is_(None), value), (value.is_(None), column), (value < column, value), else_=column)


# What _engage adds to each delivery: its id, its opens, human opens and clicks, and the times of
# the first of each in the batch (None: none in it).
_ENGAGEMENT_COLUMNS = {"b_id": BigInteger(), "b_opens": Integer(), "b_human": Integer(), "b_clicks": Integer(),
                       "b_open_at": Delivery.first_opened_at.type, "b_human_at": Delivery.first_human_open_at.type,
                       "b_click_at": Delivery.first_clicked_at.type}


def _adding_engagement(b) -> Any:
    """UPDATE deliveries adding `b`'s totals (bound parameters, or the columns of a table of them)."""
    return update(Delivery).where(Delivery.id == b["b_id"]).values(
        opens=Delivery.opens + b["b_opens"], human_opens=Delivery.human_opens + b["b_human"],
        clicks=Delivery.clicks + b["b_clicks"],
        first_opened_at=_first(Delivery.first_opened_at, b["b_open_at"]),
        first_human_open_at=_first(Delivery.first_human_open_at, b["b_human_at"]),
        first_clicked_at=_first(Delivery.first_clicked_at, b["b_click_at"]))


# PostgreSQL: one UPDATE … FROM unnest(…) for the batch; SQLite: an executemany of one per delivery.
_ADD_ENGAGEMENT = _adding_engagement(unnested("b", _ENGAGEMENT_COLUMNS).c)
_ADD_ENGAGEMENT_EACH = _adding_engagement({name: bindparam(name, type_=type_) for name, type_ in _ENGAGEMENT_COLUMNS.items()})

# The event columns record_engagement writes: one INSERT … SELECT FROM unnest(…) on PostgreSQL.
_EVENT_COLUMNS = ("delivery_id", "campaign_id", "type", "source", "at", "data", "user_agent", "ip")
# (`data` goes as JSON text: an array of dicts has no adapter.)
_EVENTS = unnested("e", {name: Text() if name == "data" else Event.__table__.c[name].type for name in _EVENT_COLUMNS})
_INSERT_EVENTS = insert(Event).from_select(list(_EVENT_COLUMNS), select(
    *(cast(_EVENTS.c.data, JSON) if name == "data" else _EVENTS.c[name] for name in _EVENT_COLUMNS)))


def _summarise(db, delivery, signal: Signal, data: dict, at: dt.datetime, settings: Settings) -> None:
    target = states.feedback_target(delivery.state, signal.type)
    moved = False
    if target:
        changes: dict[str, Any] = {"updated_at": at}
        if target == states.DELIVERED:
            changes["sent_at"] = at
        if target == states.BOUNCED:
            changes |= {"bounce_kind": signal.bounce_kind, "last_reply": (signal.reason or "")[:1000] or None}
        # Compare-and-set: two signals for one delivery at once cannot both move it.
        moved = moves.move_one(db, delivery.id, delivery.state, target, changes)
    kind = signal.type
    if kind in ENGAGEMENT:
        _engage(db, [(delivery, kind, data, at)])
    elif kind == "unsubscribed":
        if db.execute(update(Delivery).where(Delivery.id == delivery.id, Delivery.unsubscribed_at.is_(None))
                      .values(unsubscribed_at=at)).rowcount:
            counters.add(db, Counter({(delivery.campaign_id, "unsubscribed"): 1}))
        suppress_address(db, delivery.email_key, "unsubscribed from a campaign", "unsubscribe", "unsubscribed", at)
    elif kind == "complained":
        if db.execute(update(Delivery).where(Delivery.id == delivery.id, Delivery.complained_at.is_(None))
                      .values(complained_at=at)).rowcount:
            counters.add(db, Counter({(delivery.campaign_id, "complained"): 1}))
        # A complaint suppresses whatever the delivery's state: the recipient said it is unwanted.
        suppress_address(db, delivery.email_key, f"complaint ({signal.source})", "complaint", "complained", at)
    elif kind == "bounced" and moved:
        apply_bounce_policy(db, delivery.email_key, signal.bounce_kind, signal.reason, settings, at)


def _dialect(db) -> str:
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    return bind.dialect.name


def retention_cutoff(settings: Settings, now: dt.datetime | None = None) -> dt.datetime:
    """Raw tracking data of events before this time is past DISTRIBUTE_RETENTION_DAYS."""
    return (now or utcnow()) - dt.timedelta(days=settings.retention_days)


def purge_raw(db, settings: Settings, now: dt.datetime | None = None) -> int:
    """Drop raw tracking data (payloads, user agents, IPs) older than the retention; the events
    themselves stay, so stats and a recipient's history do not change. Returns how many events
    lost theirs."""
    cutoff = retention_cutoff(settings, now)
    return db.execute(update(Event).where(Event.at < cutoff, (Event.raw.is_not(None)) | (Event.ip.is_not(None))
                                          | (Event.user_agent.is_not(None)))
                      .values(raw=null(), ip=None, user_agent=None)).rowcount


def purge_expired(sessions, settings: Settings, now: dt.datetime | None = None) -> int:
    """purge_raw in a transaction of its own: what beat's hourly task, the embedded loop of
    `distribute send` and `distribute run`, and `distribute purge` all call."""
    with sessions.begin() as session:
        return purge_raw(session, settings, now)


__all__ = ["Signal", "record", "record_engagement", "find_delivery", "purge_raw", "purge_expired", "retention_cutoff",
           "RECORDED", "DUPLICATE", "UNMATCHED"]
