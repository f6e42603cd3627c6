"""The exact recount repairs counters that drifted, and says what it fixed."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import delete, update

from counter_helpers import assert_counters_exact
from distribute.deliveries import counters
from distribute.models import CampaignCounter, Delivery, DomainCounter, HourCounter, OutletCounter
from web_helpers import send_release


@pytest.fixture
def sent(run_cli, settings, tmp_path):
    return send_release(run_cli, tmp_path / "outbox", settings=settings)


def test_recount_repairs_drift_and_logs_it(db, settings, sent, run_cli, caplog):
    with db.sessions.begin() as s:
        # Drift on purpose: a counter bumped, and a delivery moved behind the writer's back.
        s.execute(update(CampaignCounter).where(CampaignCounter.campaign_id == 1, CampaignCounter.name == "state:sent")
                  .values(value=CampaignCounter.value + 5))
        s.execute(update(DomainCounter).where(DomainCounter.campaign_id == 1, DomainCounter.state == "sent")
                  .values(value=0))
        s.execute(update(Delivery).where(Delivery.campaign_id == 1).values(opens=3))
        s.execute(delete(OutletCounter).where(OutletCounter.campaign_id == 1, OutletCounter.outlet == "Global Wire"))
        s.execute(update(HourCounter).where(HourCounter.campaign_id == 1).values(value=HourCounter.value + 1))
    with db.sessions() as s:
        before = counters.totals(s, 1)
        assert before["state:sent"] == 9 and before.get("opens", 0) == 0
        with pytest.raises(AssertionError):
            assert_counters_exact(s, 1)
    with caplog.at_level(logging.WARNING, logger="distribute.deliveries.recount"):
        result = run_cli("stats", "recount", "1")
    assert result.exit_code == 0, result.output
    assert "state:sent: 9 → 4" in result.output and "opens: 0 → 12" in result.output
    assert "outlet:Global Wire:total: 0 → 1" in result.output and ":sent: 5 → 4" in result.output
    assert any("campaign 1: counters had drifted" in r.getMessage() and "'state:sent': (9, 4)" in r.getMessage()
               for r in caplog.records)
    with db.sessions() as s:
        assert_counters_exact(s, 1)
        assert counters.totals(s, 1)["opens"] == 12
    caplog.clear()
    again = run_cli("stats", "recount")  # every campaign: nothing left to repair, nothing logged
    assert "counters exact: nothing to repair" in again.output and not caplog.records


def test_recount_of_no_such_campaign_says_so(db, run_cli):
    result = run_cli("stats", "recount", "42")
    assert result.exit_code == 1 and "no campaign 42" in result.output


def test_stats_still_answers_to_stats_id(db, settings, sent, run_cli):
    result = run_cli("stats", "1", "--json")
    assert result.exit_code == 0 and '"recipients": 4' in result.output


def test_beat_recounts(settings):
    from distribute.sending.tasks import RECOUNT, create_celery

    app = create_celery(settings)
    assert app.conf.beat_schedule["recount"]["task"] == RECOUNT and RECOUNT in app.tasks


def test_a_repair_of_many_counters_at_once(db, settings, sent):
    # More domain counters than one statement's parameters can carry (the recount of a large
    # campaign, or migration 0008 counting one): written in chunks.
    from collections import Counter

    with db.sessions.begin() as s:
        counters.add(s, Counter(), Counter({(1, f"d{i}.example", "sent"): 1 for i in range(15_000)}))
    with db.sessions.begin() as s:
        from distribute.deliveries.recount import repair

        assert len(repair(s, 1, log_fixes=False)) == 15_000
        assert_counters_exact(s, 1)
