"""How a campaign did: its counters (distribute.deliveries.counters, kept with every move and
summed over their shards), and through indexes only what is shown of the rows: the top domains,
the first and last sending time, the last errors, a page of recipients with their events.

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

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from distribute import states
from distribute.deliveries import counters
from distribute.deliveries.counters import BOUNCE_KINDS, bounced_name, link_name, state_name
from distribute.sending.lookup import get_campaign
from distribute.models import DETAIL_SQL, ERROR_STATES_SQL, Delivery, Event, Release

TOP_DOMAINS = 20
LAST_ERRORS = 10


def campaign_stats(session: Session, campaign_id: int, *, detail_limit: int = 200) -> dict:
    campaign = get_campaign(session, campaign_id)
    release = session.get(Release, campaign.release_id)
    totals = counters.totals(session, campaign_id)
    counts = {state: totals.get(state_name(state), 0) for state in states.DELIVERY_STATES}
    # Two index probes on (campaign_id, sent_at).
    first, last = session.execute(
        select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(Delivery.campaign_id == campaign_id)
    ).one()
    rate = None
    if first and last and last > first:
        # A complaint comes after the message was sent: it counts as sent here.
        rate = round((counts[states.DELIVERED] + counts[states.COMPLAINED]) / (last - first).total_seconds(), 1)
    # The partial index of failed states, read backwards from the newest.
    errors = session.execute(
        select(Delivery.email, Delivery.state, Delivery.last_code, Delivery.last_reply, Delivery.updated_at)
        .where(Delivery.campaign_id == campaign_id, text(ERROR_STATES_SQL))
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
        "domains": counters.top_domains(session, campaign_id, TOP_DOMAINS),
        "last_errors": [
            {"email": e.email, "state": e.state, "code": e.last_code, "reply": e.last_reply, "at": e.updated_at.isoformat()}
            for e in errors
        ],
        "tracked": campaign.track,
        "feedback": _feedback(totals),
        "links": _links(totals, (campaign.compiled or {}).get("links", [])),
    } | _detail(session, campaign_id, detail_limit)


def _feedback(totals: dict[str, int]) -> dict:
    opened, human = totals.get("opened", 0), totals.get("opened_human", 0)
    return {
        "opened": opened, "opened_human": human, "opened_machine_only": opened - human,
        "opens": totals.get("opens", 0), "opens_human": totals.get("opens_human", 0),
        "clicked": totals.get("clicked", 0), "clicks": totals.get("clicks", 0),
        "unsubscribed": totals.get("unsubscribed", 0), "complained": totals.get("complained", 0),
        "bounced": {kind: totals.get(bounced_name(kind), 0) for kind in BOUNCE_KINDS},
    }


def _links(totals: dict[str, int], links: list[str]) -> list[dict]:
    return [{"url": url, "clicks": totals.get(link_name(n, "clicks"), 0),
             "recipients": totals.get(link_name(n, "recipients"), 0)} for n, url in enumerate(links)]


def _detail(session: Session, campaign_id: int, limit: int) -> dict:
    # Core selects of the columns shown: rows, not ORM entities (building and tracking 200 of
    # them, each with every column, was about a third of the time of the stats).
    d, e = Delivery.__table__.c, Event.__table__.c
    # The partial index of recipients with something to show, in id order: a page, not a scan.
    rows = session.execute(
        select(d.id, d.email, d.state, d.bounce_kind, d.last_reply, d.opens, d.human_opens, d.first_opened_at,
               d.clicks, d.unsubscribed_at, d.complained_at)
        .where(d.campaign_id == campaign_id, text(DETAIL_SQL)).order_by(d.id).limit(limit + 1)
    ).all()
    truncated = len(rows) > limit
    rows = rows[:limit]
    events: dict[int, list[dict]] = {}
    if rows:
        for delivery_id, kind, source, at, data in session.execute(
                select(e.delivery_id, e.type, e.source, e.at, e.data)
                .where(e.delivery_id.in_([r.id for r in rows])).order_by(e.at, e.id)):
            events.setdefault(delivery_id, []).append(
                {"type": kind, "source": source, "at": at.isoformat(), "data": data})

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
    """(finished, total) deliveries over these campaigns, from their counters."""
    by_state = counters.state_totals(session, campaign_ids)
    total = sum(by_state.values())
    return total - sum(n for state, n in by_state.items() if state in states.UNFINISHED), total
