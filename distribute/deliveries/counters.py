"""Per-campaign counters: what the stats show, added to in the transaction of every change they
count, so reading them never scans the deliveries or the events.

Names in campaign_counters:
- `state:<state>`: deliveries in each state;
- `opened`, `opened_human`, `clicked`, `unsubscribed`, `complained`: recipients who did it (at
  least once); `opens`, `opens_human`, `clicks`: how many times;
- `bounced:<kind>`: bounced deliveries by kind (hard, soft, block);
- `link:<n>:clicks`, `link:<n>:recipients`: clicks on the campaign's link number n, and by how
  many recipients.
domain_counters holds deliveries per recipient domain and state, and per domain in all (`total`).

Not a hot row: each database connection adds to its own shard (its backend's pid, modulo SHARDS),
and a total is the sum of its shards. SQLite has one writer at a time: one shard.
"""

from __future__ import annotations

from collections import Counter
from sqlalchemy import func, literal, select

from distribute import states
from distribute.db import insert_for
from distribute.models import CampaignCounter, DomainCounter

SHARDS = 16
REPAIR_SHARD = SHARDS  # written only by the recount (distribute.deliveries.recount)
TOTAL = "total"  # domain_counters: every delivery of the domain, whatever its state
FEEDBACK = ("opened", "opened_human", "opens", "opens_human", "clicked", "clicks", "unsubscribed", "complained")
BOUNCE_KINDS = ("hard", "soft", "block")

# (campaign_id, name) → delta, and (campaign_id, domain, state) → delta
Deltas = Counter
DomainDeltas = Counter


def state_name(state: str) -> str:
    return f"state:{state}"


def bounced_name(kind: str) -> str:
    return f"bounced:{kind}"


def link_name(number: int, what: str) -> str:
    return f"link:{number}:{what}"  # what: clicks | recipients


def shard(db):
    """The shard this connection adds to, as SQL: the server evaluates it, so it costs no round trip."""
    if _dialect(db) == "postgresql":
        return func.pg_backend_pid() % SHARDS
    return literal(0)


def add(db, deltas: Deltas, domain_deltas: DomainDeltas | None = None, *, to_shard=None) -> None:
    """Add to the counters in the caller's transaction: one upsert per table, rows in key order
    (two transactions lock the rows of one shard in the same order, so they cannot deadlock)."""
    target = shard(db) if to_shard is None else literal(to_shard)
    rows = [{"campaign_id": c, "name": n, "shard": target, "value": v} for (c, n), v in sorted(deltas.items()) if v]
    _upsert(db, CampaignCounter, rows, ("campaign_id", "name", "shard"))
    if domain_deltas:
        # A domain's total is always in shard 0: one row per domain, so the ranking reads an index.
        rows = [{"campaign_id": c, "domain": d, "state": s, "value": v, "shard": literal(0) if s == TOTAL else target}
                for (c, d, s), v in sorted(domain_deltas.items()) if v]
        _upsert(db, DomainCounter, rows, ("campaign_id", "domain", "state", "shard"))


def adding(stmt, table):
    """An INSERT of counter rows (`insert_for`'s) made to add to the rows already there."""
    keys = [c.name for c in table.__table__.primary_key]
    return stmt.on_conflict_do_update(index_elements=keys, set_={"value": table.value + stmt.excluded.value})


CHUNK = 2000  # rows per upsert: five parameters a row stays far below PostgreSQL's 65,535


def _upsert(db, table, rows: list[dict], keys: tuple[str, ...]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.execute(adding(insert_for(db, table).values(rows[start:start + CHUNK]), table))


def totals(db, campaign_id: int) -> dict[str, int]:
    """Every campaign counter, summed over its shards."""
    rows = db.execute(select(CampaignCounter.name, func.sum(CampaignCounter.value))
                      .where(CampaignCounter.campaign_id == campaign_id).group_by(CampaignCounter.name)).all()
    return {name: int(value) for name, value in rows}


def state_totals(db, campaign_ids: list[int]) -> dict[str, int]:
    """Deliveries per state over these campaigns."""
    names = [state_name(s) for s in states.DELIVERY_STATES]
    rows = db.execute(select(CampaignCounter.name, func.sum(CampaignCounter.value))
                      .where(CampaignCounter.campaign_id.in_(campaign_ids), CampaignCounter.name.in_(names))
                      .group_by(CampaignCounter.name)).all()
    return {name.partition(":")[2]: int(value) for name, value in rows}


def top_domains(db, campaign_id: int, limit: int) -> list[dict]:
    """The `limit` domains with the most deliveries, each with its count per state (states with
    none left out): the ranking from the index on the totals, then only those domains' rows."""
    d = DomainCounter
    ranked = db.execute(select(d.domain, d.value).where(d.campaign_id == campaign_id, d.state == TOTAL)
                        .order_by(d.value.desc(), d.domain).limit(limit)).all()
    entries = {domain: {"domain": domain, "total": int(total)} for domain, total in ranked}
    if entries:
        for domain, state, n in db.execute(
                select(d.domain, d.state, func.sum(d.value))
                .where(d.campaign_id == campaign_id, d.domain.in_(list(entries)), d.state != TOTAL)
                .group_by(d.domain, d.state)):
            if n:
                entries[domain][state] = int(n)
    return list(entries.values())


def domain_totals(db, campaign_id: int) -> dict[tuple[str, str], int]:
    """Every (domain, state) counter of the campaign, summed over its shards (the recount compares them)."""
    d = DomainCounter
    rows = db.execute(select(d.domain, d.state, func.sum(d.value)).where(d.campaign_id == campaign_id)
                      .group_by(d.domain, d.state)).all()
    return {(domain, state): int(n) for domain, state, n in rows}


def _dialect(db) -> str:
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    return bind.dialect.name
