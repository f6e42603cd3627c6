"""A campaign's detail, read a page at a time: recipients (by address, through the unique
(campaign, address) index; paged by id), one recipient's events, the outlets, the time chart,
and every row for a CSV export (keyset batches, never OFFSET).

The totals are stats/campaign.py's, the outlets and the chart read their counters
(distribute.deliveries.counters); this module reads only what a page shows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribute import states
from distribute.deliveries import counters
from distribute.models import Delivery, Event

PAGE = 50
TOP_OUTLETS = 20
EXPORT_BATCH = 2000


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def recipient_row(d: Delivery) -> dict:
    return {"id": d.id, "email": d.email, "name": d.name, "outlet": d.outlet, "domain": d.domain, "state": d.state,
            "bounce": d.bounce_kind, "code": d.last_code, "reply": d.last_reply, "attempts": d.attempts,
            "sent_at": _iso(d.sent_at), "opens": d.opens, "human_opens": d.human_opens,
            "first_opened_at": _iso(d.first_opened_at), "clicks": d.clicks, "first_clicked_at": _iso(d.first_clicked_at),
            "unsubscribed_at": _iso(d.unsubscribed_at), "complained_at": _iso(d.complained_at)}


def recipients(session: Session, campaign_id: int, *, search: str = "", state: str | None = None,
               after: int | None = None, limit: int = PAGE) -> dict:
    """A page of recipients in id order; `search` is the start of an address (its range on the
    unique index, then LIKE for the exact prefix), `after` the last id of the previous page."""
    query = select(Delivery).where(Delivery.campaign_id == campaign_id)
    key = search.strip().lower()
    if key:
        query = query.where(Delivery.email_key >= key, Delivery.email_key < key + "\uffff",
                            Delivery.email_key.startswith(key, autoescape=True))
    if state:
        query = query.where(Delivery.state == state)
    if after is not None:
        query = query.where(Delivery.id > after)
    rows = session.scalars(query.order_by(Delivery.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"recipients": [recipient_row(d) for d in rows], "next_after": rows[-1].id if more else None}


def recipient(session: Session, campaign_id: int, delivery_id: int) -> dict | None:
    """One recipient with every event it has, oldest first (the raw SMTP reply in `reply`)."""
    d = session.scalar(select(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.id == delivery_id))
    if d is None:
        return None
    events = session.scalars(select(Event).where(Event.delivery_id == d.id).order_by(Event.at, Event.id))
    return recipient_row(d) | {"events": [
        {"type": e.type, "source": e.source, "at": e.at.isoformat(), "data": e.data} for e in events]}


def outlets(session: Session, campaign_id: int, limit: int = TOP_OUTLETS) -> list[dict]:
    """The outlets with the most recipients: sent, bounced, opened, clicked per outlet (counters)."""
    return [{"outlet": o["outlet"], "total": o["total"], "sent": sum(o.get(s, 0) for s in counters.SENT_STATES),
             "bounced": o.get(states.BOUNCED, 0), "opened": o.get("opened", 0), "clicked": o.get("clicked", 0)}
            for o in counters.top_outlets(session, campaign_id, limit)]


def timeline(session: Session, campaign_id: int, unit: str = "hour") -> list[dict]:
    """Sends, opens and clicks per hour (or day, UTC), oldest first, empty buckets left out (counters)."""
    if unit not in ("hour", "day"):
        raise ValueError(f"unit: hour or day, not {unit!r}")
    buckets: dict[dt.datetime, Counter] = {}
    for hour, counts in counters.hourly(session, campaign_id).items():
        buckets.setdefault(hour.replace(hour=0) if unit == "day" else hour, Counter()).update(counts)
    return [{"at": at.strftime("%Y-%m-%dT%H:00:00Z"), **{name: c.get(name, 0) for name in counters.HOURLY}}
            for at, c in sorted(buckets.items())]


EXPORT_COLUMNS = ("email", "name", "outlet", "domain", "state", "bounce", "code", "reply", "attempts", "sent_at",
                  "opens", "human_opens", "first_opened_at", "clicks", "first_clicked_at", "unsubscribed_at",
                  "complained_at")


def export_rows(session: Session, campaign_id: int) -> Iterator[dict]:
    """Every recipient, in id order, EXPORT_BATCH rows per query (the page holds one batch)."""
    after = 0
    while True:
        rows = session.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.id > after)
                               .order_by(Delivery.id).limit(EXPORT_BATCH)).all()
        if not rows:
            return
        for d in rows:
            yield recipient_row(d)
        after = rows[-1].id
