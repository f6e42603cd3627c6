"""assert_counters_exact: a campaign's counters (distribute.deliveries.counters) equal an exact
recount of its deliveries and events, with the differences named when they do not."""

from __future__ import annotations

from distribute.deliveries.recount import drift


def assert_counters_exact(session, campaign_id: int) -> None:
    names, domains = drift(session, campaign_id)
    assert not names and not domains, (
        f"campaign {campaign_id}: counters differ from an exact recount, (counted, exact): {names} {domains}")
