"""The exact recount: the counters computed again from the deliveries and the events, and any
drift between the two repaired.

Counters are kept in the transaction of every change they count, so they drift only through a
write that bypasses the writer (a hand-made UPDATE, a restored backup, a bug). The recount reads
the campaign's rows and its counters in one snapshot (REPEATABLE READ on PostgreSQL: both as of
the same commit), so any difference is drift, not a move in flight; it adds the difference in a
shard of its own, in the same transaction, and logs what it fixed. Moves committed meanwhile add
their own deltas, so the repair is right whatever ran beside it.

Run by `distribute stats recount [ID]` and by Celery beat (RECOUNT, for campaigns started in the
last RECOUNT_DAYS).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sqlalchemy import Engine, case, distinct, func, literal, literal_column, or_, select

from distribute.deliveries import counters
from distribute.deliveries.counters import (BOUNCE_KINDS, REPAIR_SHARD, TOTAL, bounced_name, link_name,
                                            state_name)
from distribute.models import Campaign, Delivery, Event, utcnow

log = logging.getLogger(__name__)

RECOUNT_DAYS = 30  # opens and clicks still come in weeks after sending
RECOUNT_SECONDS = 6 * 3600.0  # how often beat recounts


KINDS = ("campaign", "domains", "outlets", "hours")  # campaign_counters, then the grouped tables


def exact(db, campaign_id: int, kinds: tuple[str, ...] = KINDS) -> dict[str, dict]:
    """The campaign's counters of these kinds as the rows say they must be: {"campaign": {name: n},
    "domains": {(domain, state): n}, "outlets": {(outlet, name): n}, "hours": {(hour, name): n}}."""
    read = {"campaign": _campaign, "domains": _domains, "outlets": _outlets, "hours": _hours}
    return {kind: read[kind](db, campaign_id) for kind in kinds}


def _campaign(db, campaign_id: int) -> dict[str, int]:
    d = Delivery
    names: dict[str, int] = {}
    for state, n in db.execute(select(d.state, func.count()).where(d.campaign_id == campaign_id).group_by(d.state)):
        names[state_name(state)] = n
    row = db.execute(select(
        func.count(d.first_opened_at), func.count(d.first_human_open_at),
        func.coalesce(func.sum(d.opens), 0), func.coalesce(func.sum(d.human_opens), 0),
        func.count(d.first_clicked_at), func.coalesce(func.sum(d.clicks), 0),
        func.count(d.unsubscribed_at), func.count(d.complained_at),
        *(func.count(case((d.bounce_kind == kind, 1))) for kind in BOUNCE_KINDS),
    ).where(d.campaign_id == campaign_id)).one()
    names |= dict(zip(counters.FEEDBACK, (int(v) for v in row[:8])))
    names |= {bounced_name(kind): int(v) for kind, v in zip(BOUNCE_KINDS, row[8:])}
    number = Event.data["link"].as_integer()
    for n, clicks, people in db.execute(
            select(number, func.count(), func.count(distinct(Event.delivery_id)))
            .where(Event.campaign_id == campaign_id, Event.type == "clicked").group_by(number)):
        if n is not None:
            names[link_name(n, "clicks")] = clicks
            names[link_name(n, "recipients")] = people
    return names


def _domains(db, campaign_id: int) -> dict[tuple[str, str], int]:
    d = Delivery
    domains: Counter = Counter()
    for domain, state, n in db.execute(select(d.domain, d.state, func.count()).where(d.campaign_id == campaign_id)
                                       .group_by(d.domain, d.state)):
        domains[domain, state] += n
        domains[domain, TOTAL] += n
    return dict(domains)


def _outlets(db, campaign_id: int) -> dict[tuple[str, str], int]:
    d = Delivery
    outlets: Counter = Counter()
    for outlet, state, n, opened, clicked in db.execute(
            select(d.outlet, d.state, func.count(), func.count(d.first_opened_at), func.count(d.first_clicked_at))
            .where(d.campaign_id == campaign_id, d.outlet.is_not(None), d.outlet != "").group_by(d.outlet, d.state)):
        for name, value in ((state, n), (TOTAL, n), ("opened", opened), ("clicked", clicked)):
            outlets[outlet, name] += value
    return {key: n for key, n in outlets.items() if n}


def _hours(db, campaign_id: int) -> dict[tuple[dt.datetime, str], int]:
    """Messages sent per hour of their sent_at, opens and clicks per hour of their event."""
    hours: Counter = Counter()
    sent = _hour(db, Delivery.sent_at)
    engaged = _hour(db, Event.at)
    for query in (select(sent, literal("sent"), func.count()).where(Delivery.campaign_id == campaign_id,
                                                                   Delivery.sent_at.is_not(None)).group_by(sent),
                  select(engaged, Event.type, func.count()).where(Event.campaign_id == campaign_id,
                                                                  Event.type.in_(("opened", "clicked")))
                  .group_by(engaged, Event.type)):
        for at, name, n in db.execute(query):
            hours[_as_hour(at), name] += n
    return dict(hours)


def _hour(db, column):
    """The hour (UTC) of a time column, in SQL; literal arguments, so that the SELECT's expression
    and the GROUP BY's render the same."""
    if _dialect(db) == "postgresql":
        return func.date_trunc(literal_column("'hour'"), column, literal_column("'UTC'"))
    return func.strftime(literal_column("'%Y-%m-%dT%H:00:00'"), column)


def _as_hour(value) -> dt.datetime:
    if isinstance(value, str):  # SQLite's strftime: a naive UTC time
        value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return counters.hour_of(value)


def _dialect(db) -> str:
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    return bind.dialect.name


def drift(db, campaign_id: int, kinds: tuple[str, ...] = KINDS) -> dict[str, dict]:
    """What differs, per kind of counter: key → (counted, exact); kinds without a difference left out."""
    want = exact(db, campaign_id, kinds)
    have = {kind: counters.totals(db, campaign_id) if kind == "campaign" else counters.grouped_totals(db, campaign_id, kind)
            for kind in kinds}
    found = {kind: _differences(have[kind], want[kind]) for kind in kinds}
    return {kind: differences for kind, differences in found.items() if differences}


def _differences(have: dict, want: dict) -> dict:
    return {key: (have.get(key, 0), want.get(key, 0)) for key in have.keys() | want.keys()
            if have.get(key, 0) != want.get(key, 0)}


def repair(db, campaign_id: int, *, log_fixes: bool = True, kinds: tuple[str, ...] = KINDS) -> dict[str, tuple[int, int]]:
    """Make the counters exact in the caller's transaction; returns what was fixed, by name
    (grouped counters as `domain:<domain>:<state>`, `outlet:<outlet>:<name>`, `hour:<iso>:<name>`)."""
    found = drift(db, campaign_id, kinds)
    fix = {kind: Counter({(campaign_id, *key) if kind != "campaign" else (campaign_id, key): want - have
                          for key, (have, want) in found.get(kind, {}).items()}) for kind in KINDS}
    counters.add(db, fix["campaign"], fix["domains"], outlets=fix["outlets"], hours=fix["hours"], to_shard=REPAIR_SHARD)
    fixed = dict(found.get("campaign", {}))
    for kind, prefix in (("domains", "domain"), ("outlets", "outlet"), ("hours", "hour")):
        for (group, name), pair in found.get(kind, {}).items():
            fixed[f"{prefix}:{group.isoformat() if kind == 'hours' else group}:{name}"] = pair
    if fixed and log_fixes:
        shown = dict(sorted(fixed.items())[:20])
        log.warning("campaign %s: counters had drifted from an exact recount; repaired %d (counted, exact): %s%s",
                    campaign_id, len(fixed), shown, " …" if len(fixed) > len(shown) else "")
    return fixed


def repair_campaign(engine: Engine, campaign_id: int) -> dict[str, tuple[int, int]]:
    """repair() in one transaction of its own, reading one snapshot."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        return repair(conn, campaign_id)


def recount(engine: Engine, campaign_ids: list[int] | None = None, *, days: float | None = None) -> dict[int, dict]:
    """Repair the given campaigns, or those started in the last `days`, or (neither) all of them;
    returns campaign → what was fixed, for the campaigns that needed it."""
    with engine.connect() as conn:
        query = select(Campaign.id).order_by(Campaign.id)
        if campaign_ids is not None:
            query = query.where(Campaign.id.in_(campaign_ids))
        elif days is not None:
            since = utcnow() - dt.timedelta(days=days)
            query = query.where(or_(Campaign.started_at >= since, Campaign.finished_at >= since))
        ids = conn.scalars(query).all()
    report = {}
    for campaign_id in ids:
        if fixed := repair_campaign(engine, campaign_id):
            report[campaign_id] = fixed
    return report


def recount_all(conn, *, log_fixes: bool = True, kinds: tuple[str, ...] = KINDS) -> None:
    """Every campaign, in the caller's transaction (the migrations that made the counters: each
    counts the kinds whose tables exist by then)."""
    for campaign_id in conn.scalars(select(Campaign.id).order_by(Campaign.id)).all():
        repair(conn, campaign_id, log_fixes=log_fixes, kinds=kinds)
