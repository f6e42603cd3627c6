"""The one writer of a delivery's state: moves by the table, counted as they are made."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select

from counter_helpers import assert_counters_exact
from distribute import states
from distribute.deliveries import counters, moves
from distribute.models import Delivery
from web_helpers import send_release

PACKAGE = Path(__file__).resolve().parents[2] / "distribute"


@pytest.fixture
def sent(run_cli, settings, tmp_path):
    return send_release(run_cli, tmp_path / "outbox", settings=settings)


def _ids(s, state=states.DELIVERED):
    return s.scalars(select(Delivery.id).where(Delivery.state == state).order_by(Delivery.id)).all()


def test_a_bulk_move_from_a_source_the_table_forbids_raises(db, settings, sent):
    with db.sessions.begin() as s:
        with pytest.raises(states.IllegalTransition):
            moves.move(s, states.QUEUED, Delivery.campaign_id == 1, sources=(states.DELIVERED,))
        assert len(_ids(s)) == 4  # nothing moved


def test_a_single_move_the_table_forbids_raises_and_a_stale_one_is_a_no_op(db, settings, sent):
    with db.sessions.begin() as s:
        first, second = _ids(s)[:2]
        with pytest.raises(states.IllegalTransition):
            moves.move_one(s, first, states.DELIVERED, states.QUEUED)
        assert moves.move_one(s, first, states.DELIVERED, states.BOUNCED, {"bounce_kind": "hard"})
        # The caller read `sent`, but the row has moved since: compare-and-set, nothing happens.
        assert not moves.move_one(s, first, states.DELIVERED, states.COMPLAINED)
        assert moves.move_one(s, second, states.DELIVERED, states.COMPLAINED)
        assert s.get(Delivery, first).state == states.BOUNCED
    with db.sessions() as s:
        totals = counters.totals(s, 1)
        assert (totals["state:sent"], totals["state:bounced"], totals["state:complained"], totals["bounced:hard"]) \
            == (2, 1, 1, 1)
        assert_counters_exact(s, 1)


def test_a_prepared_move_checks_its_target_every_run(db, settings, sent):
    with pytest.raises(states.IllegalTransition):  # built with a target the table forbids
        moves.Prepared(states.DELIVERED, bindparam("b_state"), targets=(states.QUEUED,))
    prepared = moves.Prepared(states.DELIVERED, bindparam("b_state"), Delivery.id == bindparam("b_id"),
                              targets=(states.BOUNCED,))
    with db.engine.begin() as conn:
        first = _ids(conn)[0]
        with pytest.raises(states.IllegalTransition):
            prepared.run(conn, {"b_id": first, "b_state": states.COMPLAINED})
        assert prepared.run(conn, {"b_id": first, "b_state": states.BOUNCED}) == 1
        assert prepared.run(conn, {"b_id": first, "b_state": states.BOUNCED}) == 0  # no longer `sent`
        assert_counters_exact(conn, 1)


def test_bulk_moves_count_per_state_and_domain(db, settings, sent):
    with db.sessions.begin() as s:
        ids = _ids(s)
        moved = moves.move(s, states.BOUNCED, Delivery.id.in_(ids[:3]), values={"bounce_kind": "soft"},
                           returning=(Delivery.id, Delivery.domain))
        assert sorted(r.id for r in moved) == ids[:3]
    with db.sessions() as s:
        totals = counters.totals(s, 1)
        assert totals["state:bounced"] == 3 and totals["bounced:soft"] == 3 and totals["state:sent"] == 1
        domains = {d["domain"]: d for d in counters.top_domains(s, 1, 20)}
        assert sum(d.get("bounced", 0) for d in domains.values()) == 3
        assert sum(d["total"] for d in domains.values()) == sum(totals[f"state:{x}"] for x in states.DELIVERY_STATES
                                                                 if f"state:{x}" in totals)
        assert_counters_exact(s, 1)


def _writes_delivery_state(tree: ast.AST) -> list[int]:
    """Lines of `update(Delivery)….values(state=…)` and `<x>.state = …` on a delivery."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values" \
                and any(k.arg == "state" for k in node.keywords):
            inner = node.func.value
            while isinstance(inner, (ast.Call, ast.Attribute)):
                if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "update" \
                        and inner.args and isinstance(inner.args[0], ast.Name) and inner.args[0].id == "Delivery":
                    lines.append(node.lineno)
                    break
                inner = inner.func if isinstance(inner, ast.Call) else inner.value
    return lines


def test_only_the_writer_writes_a_delivery_state():
    writers = {}
    for path in PACKAGE.rglob("*.py"):
        if lines := _writes_delivery_state(ast.parse(path.read_text())):
            writers[str(path.relative_to(PACKAGE))] = lines
    assert set(writers) == {"deliveries/moves.py"}, writers
    # The check itself finds what it looks for.
    assert _writes_delivery_state(ast.parse("update(Delivery).where(x).values(state='sent')")) == [1]


def test_outlet_and_hour_counters_follow_sends_opens_clicks_and_an_erase(db, settings, sent):
    """What the results page's outlets table and time chart read: kept by the sender's moves, by
    both event writers (one signal, and a buffered batch), and by erasing a person's data."""
    import datetime as dt

    from distribute.feedback.events import Signal, record, record_engagement
    from distribute.services import people
    from distribute.services.actor import ADMIN, Actor
    from distribute.stats import detail

    at = dt.datetime(2026, 1, 5, 10, 15, tzinfo=dt.UTC)
    with db.sessions() as s:
        rows = s.execute(select(Delivery.id, Delivery.outlet, Delivery.contact_id).order_by(Delivery.id)).all()
        outlets = detail.outlets(s, 1)
        hours = detail.timeline(s, 1, "hour")
    assert len(rows) == 4 and all(r.outlet for r in rows)
    assert sorted(o["outlet"] for o in outlets) == sorted(r.outlet for r in rows)
    assert all((o["total"], o["sent"], o["opened"], o["clicked"]) == (1, 1, 0, 0) for o in outlets)
    assert sum(h["sent"] for h in hours) == 4 and not any(h["opened"] or h["clicked"] for h in hours)
    first, second = rows[0], rows[1]
    with db.sessions.begin() as s:
        record(s, Signal("opened", "pixel", delivery_id=first.id, at=at), settings)
        record_engagement(s, [Signal("opened", "pixel", delivery_id=first.id, at=at + dt.timedelta(minutes=30)),
                              Signal("clicked", "link", delivery_id=first.id, at=at + dt.timedelta(hours=1),
                                     data={"link": 0}),
                              Signal("opened", "pixel", delivery_id=second.id, at=at)], settings)
    with db.sessions() as s:
        outlets = {o["outlet"]: o for o in detail.outlets(s, 1)}
        hours = {h["at"]: h for h in detail.timeline(s, 1, "hour")}
        days = {h["at"]: h for h in detail.timeline(s, 1, "day")}
        assert_counters_exact(s, 1)
    assert (outlets[first.outlet]["opened"], outlets[first.outlet]["clicked"]) == (1, 1)  # recipients, not times
    assert (outlets[second.outlet]["opened"], outlets[second.outlet]["clicked"]) == (1, 0)
    assert hours["2026-01-05T10:00:00Z"] == {"at": "2026-01-05T10:00:00Z", "sent": 0, "opened": 3, "clicked": 0}
    assert hours["2026-01-05T11:00:00Z"]["clicked"] == 1
    assert days["2026-01-05T00:00:00Z"] == {"at": "2026-01-05T00:00:00Z", "sent": 0, "opened": 3, "clicked": 1}
    with db.sessions.begin() as s:
        people.erase(s, Actor("admin@example.org", ADMIN, via="web"), first.contact_id)
    with db.sessions() as s:
        assert first.outlet not in {o["outlet"] for o in detail.outlets(s, 1)}  # the outlet was the person's data
        assert_counters_exact(s, 1)
