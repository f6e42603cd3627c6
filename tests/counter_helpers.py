"""Counters equal an exact recount: `assert_counters_exact(session, campaign_id)`, and
`counters_exact_after`, an autouse fixture a test module imports to check every campaign of the
test's database once the test is over (test_pipeline checks after its workers have stopped)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from distribute.deliveries.recount import drift
from distribute.models import Campaign


def assert_counters_exact(session, campaign_id: int) -> None:
    found = drift(session, campaign_id)
    assert not found, f"campaign {campaign_id}: counters differ from an exact recount, (counted, exact): {found}"


def assert_all_counters_exact(engine: Engine) -> int:
    """Every campaign's counters are exact; returns how many campaigns were checked."""
    with engine.connect() as conn:
        ids = conn.scalars(select(Campaign.id)).all()
        for campaign_id in ids:
            assert_counters_exact(conn, campaign_id)
    return len(ids)


@pytest.fixture(autouse=True)
def counters_exact_after(request):
    db = request.getfixturevalue("db") if "db" in request.fixturenames else None
    yield
    if db is not None:
        assert_all_counters_exact(db.engine)


def forced(session, stmt) -> None:
    """Run a test's hand-made UPDATE of deliveries (a state no worker would reach so quickly, or
    at all), and bring the counters of the campaigns it touched along, as the recount would."""
    from distribute.deliveries.recount import repair
    from distribute.models import Delivery

    for campaign_id in {r.campaign_id for r in session.execute(stmt.returning(Delivery.campaign_id))}:
        repair(session, campaign_id, log_fixes=False)
