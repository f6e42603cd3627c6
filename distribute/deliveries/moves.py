"""The one writer of `Delivery.state`: every move goes through here, by the table in `states`, and
adds to the campaign's counters (distribute.deliveries.counters) in the same statement.

- `move(db, target, *where, sources=…)`: a bulk move. Its sources are those the table allows
  into `target` (`states.sources`), or the subset given, each checked (`states.check`: a source the
  table forbids raises IllegalTransition). Rows in any other state are left alone: a no-op.
- `move_one(db, delivery_id, current, target)`: one row, compare-and-set. A move the table forbids
  raises IllegalTransition; a row no longer in `current` (someone moved it first) is a no-op,
  and it returns False.
- `Prepared`: a move built once and run for every message (the sender's), whose target may be
  a bind parameter from a fixed set of allowed targets, checked on every run.
- `create(db, insert)`: deliveries written by fan-out, counted as they are inserted.

On PostgreSQL a move is one statement: the UPDATE … RETURNING is a CTE and the counters are
upserted from it in the same statement (no round trip more than the move itself). SQLite has no
data-modifying CTEs: the UPDATE returns the moved rows and a second statement adds them up (in
process, so no round trip either).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

from sqlalchemy import BindParameter, case, func, literal, literal_column, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from distribute import states
from distribute.deliveries import counters
from distribute.deliveries.counters import TOTAL, bounced_name, hour_of, state_name
from distribute.models import CampaignCounter, Delivery, HourCounter

IllegalTransition = states.IllegalTransition
TABLE = states.DELIVERY_TRANSITIONS
# What a move returns for counting, before the columns the caller asks for.
_COUNTED = (Delivery.campaign_id, Delivery.state, Delivery.domain, Delivery.bounce_kind, Delivery.outlet,
            Delivery.sent_at)


def move(db, target: str, *where, sources: Iterable[str] | None = None, values: dict[str, Any] | None = None,
         returning: Sequence = ()) -> Any:
    """Move every row matching `where` from an allowed source to `target`. Returns how many moved,
    or the moved rows' `returning` columns when asked. One statement per source state."""
    chosen = tuple(sources) if sources is not None else states.sources(TABLE, target)
    for source in chosen:
        states.check(TABLE, source, target)
    moved: list = []
    count = 0
    for source in chosen:
        stmt = update(Delivery).where(Delivery.state == source, *where).values(state=target, **(values or {}))
        result = _run(db, stmt, source, returning)
        if returning:
            moved += result
        else:
            count += result
    return moved if returning else count


def move_one(db, delivery_id: int, current: str, target: str, values: dict[str, Any] | None = None) -> bool:
    """Move one delivery from `current` (as the caller read it) to `target`; False if it had moved."""
    states.check(TABLE, current, target)
    return bool(move(db, target, Delivery.id == delivery_id, sources=(current,), values=values))


class Prepared:
    """A move built once per dialect and run many times with parameters (`run`)."""

    def __init__(self, source: str, target: str | BindParameter, *where, targets: Iterable[str] = (),
                 values: dict[str, Any] | None = None):
        self.source = source
        self.target_key = target.key if isinstance(target, BindParameter) else None
        self.targets = frozenset(targets) if self.target_key else frozenset({target})
        for allowed in self.targets:
            states.check(TABLE, source, allowed)
        self.update = update(Delivery).where(Delivery.state == source, *where).values(state=target, **(values or {}))
        self._built: dict[str, Any] = {}

    def check(self, params: dict[str, Any]) -> None:
        """Refuse a target outside the allowed set, before anything runs."""
        if self.target_key and params[self.target_key] not in self.targets:
            raise IllegalTransition(f"cannot go from {self.source} to {params[self.target_key]}")

    def with_updates(self, *others) -> Any:
        """PostgreSQL: this move with its counters and other UPDATEs of deliveries (which move no
        state) as one statement, selecting how many rows the move moved, then how many rows each
        other UPDATE changed. PostgreSQL runs every data-modifying part of a WITH to completion, in
        the statement's one snapshot: they commit together. Run it after `check(params)`."""
        return _counted(self.update, self.source, (), also=others)

    def returning(self, *columns) -> Any:
        """PostgreSQL: this move with its counters as one statement selecting the moved rows'
        `columns`. Run it after `check(params)`."""
        return _counted(self.update, self.source, columns)

    def run(self, db, params: dict[str, Any]) -> int:
        self.check(params)
        if _dialect(db) != "postgresql":
            return _run(db, self.update, self.source, (), params)
        stmt = self._built.get("postgresql")
        if stmt is None:
            stmt = self._built["postgresql"] = _counted(self.update, self.source, ())
        return db.execute(stmt, params).scalar_one()


def create(db, insert) -> int:
    """Run fan-out's INSERT of deliveries (ON CONFLICT DO NOTHING), counting the rows it adds."""
    return _run(db, insert, None, ())


def _run(db, stmt, source: str | None, returning: Sequence, params: dict | None = None) -> Any:
    """Execute a move or an insert with its counters; the count of rows, or the rows (with their
    `returning` columns, by name)."""
    if _dialect(db) == "postgresql":
        result = db.execute(_counted(stmt, source, returning), params or {})
        moved = result.all() if returning else result.scalar_one()
        _expire_deliveries(db)
        return moved
    extra = [c for c in returning if c.key not in {k.key for k in _COUNTED}]
    rows = db.execute(stmt.returning(*_COUNTED, *extra), params or {}).all()
    deltas, domain_deltas, outlets, hours = Counter(), Counter(), Counter(), Counter()
    for row in rows:
        for (campaign_id, name), delta in _row_deltas(row, source):
            deltas[campaign_id, name] += delta
        for key, delta in _row_grouped_deltas(row, row.domain, source):
            domain_deltas[key] += delta
        if row.outlet:
            for key, delta in _row_grouped_deltas(row, row.outlet, source):
                outlets[key] += delta
        if row.state == states.DELIVERED and row.sent_at is not None:
            hours[row.campaign_id, hour_of(row.sent_at), "sent"] += 1
    counters.add(db, deltas, domain_deltas, outlets=outlets, hours=hours)
    _expire_deliveries(db)
    return rows if returning else len(rows)


def _row_deltas(row, source: str | None):
    yield (row.campaign_id, state_name(row.state)), 1
    if source:
        yield (row.campaign_id, state_name(source)), -1
    if row.state == states.BOUNCED and row.bounce_kind:
        yield (row.campaign_id, bounced_name(row.bounce_kind)), 1


def _row_grouped_deltas(row, group: str, source: str | None):
    """A moved row's deltas in a table of counters per group (its domain, its outlet)."""
    yield (row.campaign_id, group, row.state), 1
    yield (row.campaign_id, group, source or TOTAL), -1 if source else 1


def _counted(stmt, source: str | None, returning: Sequence, also: Sequence = ()):
    """PostgreSQL: WITH moved AS (the move … RETURNING), the upserts of counters from `moved`;
    SELECT the moved rows' count (or their `returning` columns), then the count of the rows each
    statement of `also` changed."""
    extra = [c for c in returning if c.key not in {k.key for k in _COUNTED}]
    moved = stmt.returning(*_COUNTED, *extra).cte("moved")
    m = moved.c
    one, minus = literal(1), literal(-1)
    parts = [select(m.campaign_id, (literal("state:") + m.state).label("name"), one.label("delta"))]
    if source:
        parts.append(select(m.campaign_id, literal(state_name(source)), minus))
    parts.append(select(m.campaign_id, literal("bounced:") + m.bounce_kind, one)
                 .where(m.state == states.BOUNCED, m.bounce_kind.is_not(None)))
    flat = union_all(*parts).subquery()
    shard = func.pg_backend_pid() % counters.SHARDS
    by_name = (select(flat.c.campaign_id, flat.c.name, shard, func.sum(flat.c.delta))
               .group_by(flat.c.campaign_id, flat.c.name).order_by(flat.c.campaign_id, flat.c.name))
    # The moved rows per domain and per outlet (where known), and the hour of each message sent
    # (literal arguments, so that the SELECT's expression and the GROUP BY's render the same).
    hour = func.date_trunc(literal_column("'hour'"), m.sent_at, literal_column("'UTC'"))
    upserts = [
        counters.adding(pg_insert(CampaignCounter).from_select(["campaign_id", "name", "shard", "value"], by_name),
                        CampaignCounter).cte("counted"),
        _grouped_upsert(m, "domains", source, shard).cte("counted_domains"),
        _grouped_upsert(m, "outlets", source, shard, m.outlet.is_not(None), m.outlet != "").cte("counted_outlets"),
        counters.adding(pg_insert(HourCounter).from_select(
            ["campaign_id", "hour", "name", "shard", "value"],
            select(m.campaign_id, hour, literal("sent"), shard, func.count())
            .where(m.state == states.DELIVERED, m.sent_at.is_not(None))
            .group_by(m.campaign_id, hour).order_by(m.campaign_id, hour)),
            HourCounter).cte("counted_hours"),
    ]
    if returning:
        final = select(*(m[c.key] for c in returning))
    else:
        final = select(func.count()).select_from(moved)
    if also:
        changed = [other.returning(Delivery.id).cte(f"also{i}") for i, other in enumerate(also)]
        final = select(final.scalar_subquery(), *(select(func.count()).select_from(c).scalar_subquery() for c in changed))
        upserts += changed
    return final.add_cte(*upserts)


def _grouped_upsert(m, kind: str, source: str | None, shard, *where):
    """INSERT … ON CONFLICT adding the moved rows `m` per group (their domain or outlet) and state
    to that kind's counters (counters.GROUPED): +1 in the new state, −1 in the source (or +1 in
    the total, shard 0, for new rows)."""
    table, group, name = counters.GROUPED[kind]
    moved_group = m[group.key]
    one, minus = literal(1), literal(-1)
    flat = union_all(select(m.campaign_id, moved_group.label("grp"), m.state.label("state"), one.label("delta")).where(*where),
                     select(m.campaign_id, moved_group, literal(source or TOTAL), minus if source else one).where(*where)
                     ).subquery()
    rows = (select(flat.c.campaign_id, flat.c.grp, flat.c.state, case((flat.c.state == TOTAL, 0), else_=shard),
                   func.sum(flat.c.delta))
            .group_by(flat.c.campaign_id, flat.c.grp, flat.c.state).order_by(flat.c.campaign_id, flat.c.grp, flat.c.state))
    return counters.adding(pg_insert(table).from_select(["campaign_id", group.key, name.key, "shard", "value"], rows),
                           table)


def _expire_deliveries(db) -> None:
    """A Session's loaded Delivery objects may now be stale: the move ran in SQL. Expire them,
    so the next read loads the row (what an ORM-synchronised UPDATE used to do)."""
    if isinstance(db, Session):
        for obj in list(db.identity_map.values()):
            if isinstance(obj, Delivery):
                db.expire(obj)


def _dialect(db) -> str:
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    return bind.dialect.name
