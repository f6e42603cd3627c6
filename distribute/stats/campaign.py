"""How a campaign did: SQL aggregates over its deliveries (on the (campaign, state) index).

The JSON shape is documented in the README and kept stable:
{"campaign": id, "release": slug, "variant": …, "state": …, "reason": …,
 "waiting": null | {"for": "relay", "since": iso, "until": iso, "reason": …}, "test": bool,
 "recipients": n, "counts": {state: n for every delivery state},
 "first_sent_at": iso|null, "last_sent_at": iso|null, "send_rate_per_second": float|null,
 "domains": [{"domain": …, "total": n, "sent": n, "deferred": n, "bounced": n, "failed": n, …}],
 "last_errors": [{"email": …, "state": …, "code": n|null, "reply": …, "at": iso}],
 "tracked": bool,
 "feedback": {"opened": n, "opened_human": n, "opened_machine_only": n, "opens": n, "opens_human": n,
              "clicked": n, "clicks": n, "unsubscribed": n, "complained": n,
              "bounced": {"hard": n, "soft": n, "block": n}},   (opened, clicked …: recipients; opens, clicks: times)
 "links": [{"url": …, "clicks": n, "recipients": n}],
 "recipients_detail": [{"email": …, "state": …, "bounce": hard|soft|block|null, "reply": …,
                        "opens": n, "human_opens": n, "first_opened_at": iso|null, "clicks": n,
                        "unsubscribed_at": iso|null, "complained_at": iso|null,
                        "events": [{"type": …, "source": …, "at": iso, "data": {…}}]}],
 "recipients_detail_truncated": bool}
recipients_detail lists the recipients with anything to show (feedback or a failure), up to `detail_limit`.
"""

from __future__ import annotations

from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.orm import Session

from distribute import states
from distribute.sending.campaigns import get_campaign
from distribute.models import Delivery, Event, Release

TOP_DOMAINS = 20
LAST_ERRORS = 10


def campaign_stats(session: Session, campaign_id: int, *, detail_limit: int = 200) -> dict:
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
        # A complaint comes after the message was sent: it counts as sent here.
        rate = round((counts[states.DELIVERED] + counts[states.COMPLAINED]) / (last - first).total_seconds(), 1)
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
        # Sending holds while the mail relay cannot be reached; it goes on by itself after `until`.
        "waiting": {"for": "relay", "since": campaign.wait_since.isoformat(), "until": campaign.wait_until.isoformat(),
                    "reason": campaign.wait_reason} if campaign.wait_since and campaign.wait_until else None,
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
        "tracked": campaign.track,
        "feedback": _feedback(session, campaign_id),
        "links": _links(session, campaign_id, (campaign.compiled or {}).get("links", [])),
    } | _detail(session, campaign_id, detail_limit)


def _feedback(session: Session, campaign_id: int) -> dict:
    d = Delivery
    row = session.execute(select(
        func.count(d.first_opened_at), func.count(d.first_human_open_at),
        func.coalesce(func.sum(d.opens), 0), func.coalesce(func.sum(d.human_opens), 0),
        func.count(d.first_clicked_at), func.coalesce(func.sum(d.clicks), 0),
        func.count(d.unsubscribed_at), func.count(d.complained_at),
        *(func.count(case((d.bounce_kind == kind, 1))) for kind in ("hard", "soft", "block")),
    ).where(d.campaign_id == campaign_id)).one()
    opened, human, opens, human_opens, clicked, clicks, unsubscribed, complained, hard, soft, block = (int(v) for v in row)
    return {
        "opened": opened, "opened_human": human, "opened_machine_only": opened - human,
        "opens": opens, "opens_human": human_opens, "clicked": clicked, "clicks": clicks,
        "unsubscribed": unsubscribed, "complained": complained,
        "bounced": {"hard": hard, "soft": soft, "block": block},
    }


def _links(session: Session, campaign_id: int, links: list[str]) -> list[dict]:
    if not links:
        return []
    number = Event.data["link"].as_integer()
    counted = {n: (clicks, people) for n, clicks, people in session.execute(
        select(number, func.count(), func.count(distinct(Event.delivery_id)))
        .where(Event.campaign_id == campaign_id, Event.type == "clicked").group_by(number)
    )}
    return [{"url": url, "clicks": counted.get(n, (0, 0))[0], "recipients": counted.get(n, (0, 0))[1]}
            for n, url in enumerate(links)]


def _detail(session: Session, campaign_id: int, limit: int) -> dict:
    d = Delivery
    interesting = or_(d.opens > 0, d.clicks > 0, d.unsubscribed_at.is_not(None), d.complained_at.is_not(None),
                      d.state.in_((states.BOUNCED, states.COMPLAINED, states.DELIVERY_FAILED, states.UNKNOWN)))
    rows = session.scalars(select(d).where(d.campaign_id == campaign_id, interesting).order_by(d.id).limit(limit + 1)).all()
    truncated = len(rows) > limit
    rows = rows[:limit]
    events: dict[int, list[dict]] = {}
    if rows:
        for e in session.scalars(select(Event).where(Event.delivery_id.in_([r.id for r in rows])).order_by(Event.at, Event.id)):
            events.setdefault(e.delivery_id, []).append(
                {"type": e.type, "source": e.source, "at": e.at.isoformat(), "data": e.data})

    def iso(value):
        return value.isoformat() if value else None

    return {
        "recipients_detail": [
            {"email": r.email, "state": r.state, "bounce": r.bounce_kind, "reply": r.last_reply,
             "opens": r.opens, "human_opens": r.human_opens, "first_opened_at": iso(r.first_opened_at),
             "clicks": r.clicks, "unsubscribed_at": iso(r.unsubscribed_at), "complained_at": iso(r.complained_at),
             "events": events.get(r.id, [])}
            for r in rows
        ],
        "recipients_detail_truncated": truncated,
    }


def progress(session: Session, campaign_ids: list[int]) -> tuple[int, int]:
    """(finished, total) deliveries over these campaigns."""
    rows = session.execute(
        select(Delivery.state, func.count()).where(Delivery.campaign_id.in_(campaign_ids)).group_by(Delivery.state)
    ).all()
    total = sum(n for _, n in rows)
    return total - sum(n for state, n in rows if state in states.UNFINISHED), total
