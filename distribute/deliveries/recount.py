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

from sqlalchemy import Engine, case, distinct, func, or_, select

from distribute.deliveries import counters
from distribute.deliveries.counters import (BOUNCE_KINDS, REPAIR_SHARD, TOTAL, bounced_name, link_name,
                                            state_name)
from distribute.models import Campaign, Delivery, Event, utcnow

log = logging.getLogger(__name__)

RECOUNT_DAYS = 30  # opens and clicks still come in weeks after sending
RECOUNT_SECONDS = 6 * 3600.0  # how often beat recounts


def exact(db, campaign_id: int) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """The campaign counters and the domain counters as the rows say they must be."""
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
    domains: Counter = Counter()
    for domain, state, n in db.execute(select(d.domain, d.state, func.count()).where(d.campaign_id == campaign_id)
                                       .group_by(d.domain, d.state)):
        domains[domain, state] += n
        domains[domain, TOTAL] += n
    return names, dict(domains)


def drift(db, campaign_id: int) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], tuple[int, int]]]:
    """What differs: name → (counted, exact), and (domain, state) → (counted, exact)."""
    want, want_domains = exact(db, campaign_id)
    have, have_domains = counters.totals(db, campaign_id), counters.domain_totals(db, campaign_id)
    return _differences(have, want), _differences(have_domains, want_domains)


def _differences(have: dict, want: dict) -> dict:
    return {key: (have.get(key, 0), want.get(key, 0)) for key in have.keys() | want.keys()
            if have.get(key, 0) != want.get(key, 0)}


def repair(db, campaign_id: int, *, log_fixes: bool = True) -> dict[str, tuple[int, int]]:
    """Make the counters exact in the caller's transaction; returns what was fixed (domain
    counters as `domain:<domain>:<state>`)."""
    names, domains = drift(db, campaign_id)
    counters.add(db, Counter({(campaign_id, name): want - have for name, (have, want) in names.items()}),
                 Counter({(campaign_id, dom, state): want - have for (dom, state), (have, want) in domains.items()}),
                 to_shard=REPAIR_SHARD)
    fixed = names | {f"domain:{dom}:{state}": pair for (dom, state), pair in domains.items()}
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


def recount_all(conn, *, log_fixes: bool = True) -> None:
    """Every campaign, in the caller's transaction (the migration that made the counters)."""
    for campaign_id in conn.scalars(select(Campaign.id).order_by(Campaign.id)).all():
        repair(conn, campaign_id, log_fixes=log_fixes)
