"""How a campaign did: SQL aggregates over its deliveries (on the (campaign, state) index).

The JSON shape is documented in the README and kept stable:
{"campaign": id, "release": slug, "variant": …, "state": …, "reason": …, "test": bool,
 "recipients": n, "counts": {state: n for every delivery state},
 "first_sent_at": iso|null, "last_sent_at": iso|null, "send_rate_per_second": float|null,
 "domains": [{"domain": …, "total": n, "sent": n, "deferred": n, "bounced": n, "failed": n, …}],
 "last_errors": [{"email": …, "state": …, "code": n|null, "reply": …, "at": iso}]}
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distribute import states
from distribute.campaigns import get_campaign
from distribute.models import Delivery, Release

TOP_DOMAINS = 20
LAST_ERRORS = 10


def campaign_stats(session: Session, campaign_id: int) -> dict:
    campaign = get_campaign(session, campaign_id)
    release = session.get(Release, campaign.release_id)
    counts = dict.fromkeys(states.DELIVERY_STATES, 0) | dict(
        session.execute(
            select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id).group_by(Delivery.state)
        ).all()
    )
    first, last = session.execute(
        select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(Delivery.campaign_id == campaign_id)
    ).one()
    rate = None
    if first and last and last > first:
        rate = round(counts[states.DELIVERED] / (last - first).total_seconds(), 1)
    by_domain = session.execute(
        select(Delivery.domain, Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.domain, Delivery.state)
    ).all()
    domains: dict[str, dict] = {}
    for domain, state, n in by_domain:
        entry = domains.setdefault(domain, {"domain": domain, "total": 0})
        entry[state] = n
        entry["total"] += n
    errors = session.execute(
        select(Delivery.email, Delivery.state, Delivery.last_code, Delivery.last_reply, Delivery.updated_at)
        .where(Delivery.campaign_id == campaign_id,
               Delivery.state.in_((states.DEFERRED, states.BOUNCED, states.DELIVERY_FAILED, states.UNKNOWN)))
        .order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(LAST_ERRORS)
    ).all()
    return {
        "campaign": campaign.id,
        "release": release.slug,
        "variant": campaign.variant,
        "state": campaign.state,
        "reason": campaign.state_reason,
        "test": campaign.is_test,
        "recipients": sum(counts.values()),
        "counts": counts,
        "first_sent_at": first.isoformat() if first else None,
        "last_sent_at": last.isoformat() if last else None,
        "send_rate_per_second": rate,
        "domains": sorted(domains.values(), key=lambda d: (-d["total"], d["domain"]))[:TOP_DOMAINS],
        "last_errors": [
            {"email": e.email, "state": e.state, "code": e.last_code, "reply": e.last_reply, "at": e.updated_at.isoformat()}
            for e in errors
        ],
    }


def progress(session: Session, campaign_ids: list[int]) -> tuple[int, int]:
    """(finished, total) deliveries over these campaigns."""
    rows = session.execute(
        select(Delivery.state, func.count()).where(Delivery.campaign_id.in_(campaign_ids)).group_by(Delivery.state)
    ).all()
    total = sum(n for _, n in rows)
    return total - sum(n for state, n in rows if state in states.UNFINISHED), total
