"""Every campaign of a period against the thresholds mailbox providers enforce.

Gmail and Yahoo (bulk sender rules, 2024) ask for a spam-complaint rate under 0.1% and refuse or
junk mail from senders above 0.3%; a bounce rate above 2% is the common warning sign and above 5%
the level at which providers and ESPs throttle or suspend a sender. Rates are per delivered
message (complaints) and per attempted message (bounces)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribute import states
from distribute.deliveries import counters
from distribute.models import Campaign, Release

COMPLAINT_TARGET, COMPLAINT_LIMIT = 0.001, 0.003
BOUNCE_WARNING, BOUNCE_LIMIT = 0.02, 0.05
MAX_CAMPAIGNS = 500


def _rates(counts: dict[str, int]) -> dict:
    delivered = counts.get(states.DELIVERED, 0) + counts.get(states.COMPLAINED, 0)
    bounced = counts.get(states.BOUNCED, 0)
    attempted = delivered + bounced + counts.get(states.DELIVERY_FAILED, 0)
    complained = counts.get(states.COMPLAINED, 0)
    return {"recipients": sum(counts.values()), "delivered": delivered, "bounced": bounced, "complained": complained,
            "failed": counts.get(states.DELIVERY_FAILED, 0),
            "bounce_rate": bounced / attempted if attempted else 0.0,
            "complaint_rate": complained / delivered if delivered else 0.0}


def judge(rates: dict) -> list[str]:
    """What a campaign (or the period) crossed, worst first: "complaints-limit" … "bounces-warning"."""
    crossed = []
    if rates["complaint_rate"] > COMPLAINT_LIMIT:
        crossed.append("complaints-limit")
    elif rates["complaint_rate"] > COMPLAINT_TARGET:
        crossed.append("complaints-target")
    if rates["bounce_rate"] > BOUNCE_LIMIT:
        crossed.append("bounces-limit")
    elif rates["bounce_rate"] > BOUNCE_WARNING:
        crossed.append("bounces-warning")
    return crossed


def overview(session: Session, since: dt.datetime) -> dict:
    """Campaigns created since `since` (tests left out), each with its rates and what it crossed,
    and the period's totals."""
    rows = session.execute(
        select(Campaign, Release.slug, Release.title).join(Release, Release.id == Campaign.release_id)
        .where(Campaign.created_at >= since, Campaign.is_test.is_(False))
        .order_by(Campaign.id.desc()).limit(MAX_CAMPAIGNS)
    ).all()
    per = counters.states_by_campaign(session, [c.id for c, _, _ in rows]) if rows else {}
    campaigns, total = [], {}
    for c, slug, title in rows:
        counts = per.get(c.id, {})
        for state, n in counts.items():
            total[state] = total.get(state, 0) + n
        rates = _rates(counts)
        campaigns.append({"id": c.id, "release": slug, "title": title, "variant": c.variant, "state": c.state,
                          "created_at": c.created_at.isoformat(), **rates, "crossed": judge(rates)})
    totals = _rates(total)
    return {"since": since.isoformat(), "campaigns": campaigns, "totals": totals | {"crossed": judge(totals)},
            "thresholds": {"complaint_target": COMPLAINT_TARGET, "complaint_limit": COMPLAINT_LIMIT,
                           "bounce_warning": BOUNCE_WARNING, "bounce_limit": BOUNCE_LIMIT}}
