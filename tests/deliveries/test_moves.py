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
