"""Per-campaign counters: what the stats show, added to in the transaction of every change they
count, so reading them never scans the deliveries or the events.

Names in campaign_counters:
- `state:<state>`: deliveries in each state;
- `opened`, `opened_human`, `clicked`, `unsubscribed`, `complained`: recipients who did it (at
  least once); `opens`, `opens_human`, `clicks`: how many times;
- `bounced:<kind>`: bounced deliveries by kind (hard, soft, block);
- `link:<n>:clicks`, `link:<n>:recipients`: clicks on the campaign's link number n, and by how
  many recipients.
domain_counters holds deliveries per recipient domain and state, and per domain in all (`total`);
outlet_counters the same per outlet, with the recipients who `opened` and `clicked`;
hour_counters the messages `sent`, and the `opened` and `clicked` events, per hour (UTC).

Not a hot row: each database connection adds to its own shard (its backend's pid, modulo SHARDS),
and a total is the sum of its shards. SQLite has one writer at a time: one shard.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from distribute import states
from distribute.db import as_arrays, core, insert_for, unnested
from distribute.models import CampaignCounter, DomainCounter, HourCounter, OutletCounter

SHARDS = 16
REPAIR_SHARD = SHARDS  # written only by the recount (distribute.deliveries.recount)
TOTAL = "total"  # domain_counters: every delivery of the domain, whatever its state
FEEDBACK = ("opened", "opened_human", "opens", "opens_human", "clicked", "clicks", "unsubscribed", "complained")
BOUNCE_KINDS = ("hard", "soft", "block")

HOURLY = ("sent", "opened", "clicked")  # hour_counters' names
SENT_STATES = (states.DELIVERED, states.COMPLAINED)  # a complaint comes after the message was sent

# (campaign_id, name) → delta; (campaign_id, domain, state), (campaign_id, outlet, name) and
# (campaign_id, hour, name) → delta
Deltas = Counter
DomainDeltas = Counter
OutletDeltas = Counter
HourDeltas = Counter

# The counters per group of deliveries: kind → (table, the group's column, the name's column).
GROUPED = {"domains": (DomainCounter, DomainCounter.domain, DomainCounter.state),
           "outlets": (OutletCounter, OutletCounter.outlet, OutletCounter.name),
           "hours": (HourCounter, HourCounter.hour, HourCounter.name)}


def state_name(state: str) -> str:
    return f"state:{state}"


def bounced_name(kind: str) -> str:
    return f"bounced:{kind}"


def link_name(number: int, what: str) -> str:
    return f"link:{number}:{what}"  # what: clicks | recipients


def hour_of(value: dt.datetime) -> dt.datetime:
    """The hour (UTC) a time falls in: the key of hour_counters."""
    return value.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def add(db, deltas: Deltas, domain_deltas: DomainDeltas | None = None, *, outlets: OutletDeltas | None = None,
        hours: HourDeltas | None = None, to_shard: int | None = None) -> None:
    """Add to the counters in the caller's transaction: one upsert per table, rows in key order
    (two transactions lock the rows of one shard in the same order, so they cannot deadlock).
    `to_shard`: that shard rather than the connection's own (the recount's)."""
    mine = to_shard  # None: the connection's own shard, chosen by the server
    _upsert(db, CampaignCounter, [{"campaign_id": c, "name": n, "shard": mine, "value": v}
                                  for (c, n), v in sorted(deltas.items()) if v])
    # A domain's or an outlet's total is always in shard 0: one row each, so the ranking reads an index.
    for kind, grouped in (("domains", domain_deltas), ("outlets", outlets), ("hours", hours)):
        if grouped:
            table, group, name = GROUPED[kind]
            _upsert(db, table, [{"campaign_id": c, group.key: g, name.key: n, "value": v,
                                 "shard": 0 if n == TOTAL else mine} for (c, g, n), v in sorted(grouped.items()) if v])


def outlets_cleared(db, rows) -> None:
    """Take deliveries out of their outlets' counters before their outlet is cleared (a person's
    data erased): rows of (campaign_id, outlet, state, first_opened_at, first_clicked_at), read
    locked by the caller."""
    deltas: Counter = Counter()
    for campaign_id, outlet, state, opened_at, clicked_at in rows:
        if outlet:
            for name, counted in ((state, True), (TOTAL, True), ("opened", opened_at), ("clicked", clicked_at)):
                if counted:
                    deltas[campaign_id, outlet, name] -= 1
    add(db, Counter(), outlets=deltas)


def adding(stmt, table):
    """An INSERT of counter rows (`insert_for`'s) made to add to the rows already there."""
    keys = [c.name for c in table.__table__.primary_key]
    return stmt.on_conflict_do_update(index_elements=keys, set_={"value": table.value + stmt.excluded.value})


CHUNK = 2000  # rows per upsert on SQLite: a few parameters a row stays far below its limit


def _upsert(db, table, rows: list[dict]) -> None:
    """Add `rows` (shard None: the connection's own) to `table`, on the Core connection (the ORM's
    bulk machinery has nothing to add here). PostgreSQL: one statement of the same shape whatever
    the number of rows, its columns bound as arrays and unnested (compiled once; a multi-row
    VALUES is compiled again for every size, which cost the event writer more than its queries)."""
    if not rows:
        return
    conn = core(db)
    if _dialect(db) == "postgresql":
        conn.execute(_array_upsert(table), as_arrays("u", rows[0], rows))
        return
    rows = [row | {"shard": 0 if row["shard"] is None else row["shard"]} for row in rows]  # SQLite: one shard
    for start in range(0, len(rows), CHUNK):
        conn.execute(adding(insert_for(conn, table).values(rows[start:start + CHUNK]), table))


@functools.cache
def _array_upsert(table):
    """INSERT INTO table SELECT … FROM unnest(:col1, :col2, …) ON CONFLICT adding the values; a
    NULL shard is the connection's own."""
    columns = table.__table__.columns
    arrays = unnested("u", {c.name: c.type for c in columns})
    values = [func.coalesce(arrays.c.shard, func.pg_backend_pid() % SHARDS) if c.name == "shard" else arrays.c[c.name]
              for c in columns]
    return adding(pg_insert(table).from_select([c.name for c in columns], select(*values)), table)


def totals(db, campaign_id: int) -> dict[str, int]:
    """Every campaign counter, summed over its shards."""
    rows = db.execute(select(CampaignCounter.name, func.sum(CampaignCounter.value))
                      .where(CampaignCounter.campaign_id == campaign_id).group_by(CampaignCounter.name)).all()
    return {name: int(value) for name, value in rows}


def state_totals(db, campaign_ids: list[int]) -> dict[str, int]:
    """Deliveries per state over these campaigns (states with none left out)."""
    total: Counter = Counter()
    for per in states_by_campaign(db, campaign_ids).values():
        total.update(per)
    return dict(total)


def top_domains(db, campaign_id: int, limit: int) -> list[dict]:
    """The `limit` domains with the most deliveries, each with its count per state (states with
    none left out)."""
    return _top(db, "domains", "domain", campaign_id, limit)


def top_outlets(db, campaign_id: int, limit: int) -> list[dict]:
    """The `limit` outlets with the most deliveries, each with its count per state and its
    recipients who `opened` and `clicked` (those with none left out)."""
    return _top(db, "outlets", "outlet", campaign_id, limit)


def _top(db, kind: str, label: str, campaign_id: int, limit: int) -> list[dict]:
    """The ranking from the index on the totals, then only those groups' rows."""
    table, group, name = GROUPED[kind]
    ranked = db.execute(select(group, table.value).where(table.campaign_id == campaign_id, name == TOTAL)
                        .order_by(table.value.desc(), group).limit(limit)).all()
    entries = {g: {label: g, "total": int(total)} for g, total in ranked if total}
    if entries:
        for g, n, value in db.execute(
                select(group, name, func.sum(table.value))
                .where(table.campaign_id == campaign_id, group.in_(list(entries)), name != TOTAL)
                .group_by(group, name)):
            if value:
                entries[g][n] = int(value)
    return list(entries.values())


def states_by_campaign(db, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """Deliveries per state of each of these campaigns (those with none left out)."""
    names = [state_name(s) for s in states.DELIVERY_STATES]
    per: dict[int, dict[str, int]] = {}
    for campaign_id, name, n in db.execute(
            select(CampaignCounter.campaign_id, CampaignCounter.name, func.sum(CampaignCounter.value))
            .where(CampaignCounter.campaign_id.in_(campaign_ids), CampaignCounter.name.in_(names))
            .group_by(CampaignCounter.campaign_id, CampaignCounter.name)):
        if n:
            per.setdefault(campaign_id, {})[name.partition(":")[2]] = int(n)
    return per


def hourly(db, campaign_id: int) -> dict[dt.datetime, dict[str, int]]:
    """hour → {sent, opened, clicked}, the hours with none left out."""
    h = HourCounter
    out: dict[dt.datetime, dict[str, int]] = {}
    for hour, name, n in db.execute(select(h.hour, h.name, func.sum(h.value)).where(h.campaign_id == campaign_id)
                                    .group_by(h.hour, h.name)):
        if n:
            out.setdefault(hour_of(hour), {})[name] = int(n)
    return out


def grouped_totals(db, campaign_id: int, kind: str) -> dict[tuple, int]:
    """Every counter of the campaign in one of the GROUPED tables, summed over its shards (what
    the recount compares): (domain, state), (outlet, name) or (hour, name) → n."""
    table, group, name = GROUPED[kind]
    rows = db.execute(select(group, name, func.sum(table.value)).where(table.campaign_id == campaign_id)
                      .group_by(group, name))
    return {(hour_of(g) if kind == "hours" else g, n): int(v) for g, n, v in rows}


def _dialect(db) -> str:
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    return bind.dialect.name
