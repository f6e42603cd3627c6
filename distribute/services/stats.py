"""How campaigns did, for every interface: the per-campaign stats (stats/campaign.py, which
reads the counters), its detail a page at a time (stats/detail.py), and the overview of a period
against the mailbox providers' thresholds (stats/overview.py), behind the READ permission (the
overview: MANAGE, it is the admins' view of the sender's standing)."""

from __future__ import annotations

import datetime as dt
from typing import Iterator

from sqlalchemy.orm import Session

from distribute.errors import NotFound, UserError
from distribute.models import utcnow
from distribute.sending.lookup import get_campaign
from distribute.services.actor import MANAGE, READ, Actor, require
from distribute.stats import detail, overview as period
from distribute.stats.campaign import campaign_stats

OVERVIEW_DAYS = 30
MAX_PAGE = 200


def campaign(session: Session, actor: Actor, campaign_id: int, *, detail_limit: int = 200) -> dict:
    """The JSON shape documented in stats/campaign.py (and the README), kept stable."""
    require(actor, READ)
    return campaign_stats(session, campaign_id, detail_limit=detail_limit)


def results(session: Session, actor: Actor, campaign_id: int) -> dict:
    """What the results page shows at once: the stats without per-recipient detail (a page of
    recipients comes from `recipients`), the outlets and the time chart."""
    require(actor, READ)
    stats = campaign_stats(session, campaign_id, detail_limit=0)
    unit = _unit(stats)
    return stats | {"outlets": detail.outlets(session, campaign_id),
                    "timeline": {"unit": unit, "buckets": detail.timeline(session, campaign_id, unit)}}


def _unit(stats: dict) -> str:
    """Hours for a campaign's first days, days after (a chart of a few dozen bars either way)."""
    first = stats["first_sent_at"]
    if first and utcnow() - dt.datetime.fromisoformat(first) > dt.timedelta(days=3):
        return "day"
    return "hour"


def timeline(session: Session, actor: Actor, campaign_id: int, unit: str = "hour") -> list[dict]:
    require(actor, READ)
    if unit not in ("hour", "day"):
        raise UserError(f"the chart's unit is hour or day, not {unit!r}", field="unit")
    get_campaign(session, campaign_id)
    return detail.timeline(session, campaign_id, unit)


def recipients(session: Session, actor: Actor, campaign_id: int, *, search: str = "", state: str | None = None,
               after: int | None = None, limit: int = detail.PAGE) -> dict:
    """A page of the campaign's recipients (search by the start of the address); `next_after`
    asks for the next page."""
    require(actor, READ)
    get_campaign(session, campaign_id)
    return detail.recipients(session, campaign_id, search=search, state=state or None, after=after,
                             limit=max(1, min(limit, MAX_PAGE)))


def recipient(session: Session, actor: Actor, campaign_id: int, delivery_id: int) -> dict:
    """One recipient of the campaign with its events and the raw SMTP reply."""
    require(actor, READ)
    found = detail.recipient(session, campaign_id, delivery_id)
    if found is None:
        raise NotFound(f"campaign {campaign_id} has no recipient {delivery_id}")
    return found


def export(session: Session, actor: Actor, campaign_id: int) -> tuple[tuple[str, ...], Iterator[dict]]:
    """(the columns, every recipient's row): the caller streams them, a batch at a time."""
    require(actor, READ)
    get_campaign(session, campaign_id)
    return detail.EXPORT_COLUMNS, detail.export_rows(session, campaign_id)


def overview(session: Session, actor: Actor, *, days: int = OVERVIEW_DAYS) -> dict:
    """The last `days` days of campaigns: volume, bounce and complaint rates against the
    providers' thresholds, and the campaigns that crossed them."""
    require(actor, MANAGE)
    return period.overview(session, utcnow() - dt.timedelta(days=days)) | {"days": days}


def recount(session: Session, actor: Actor, engine, campaign_id: int | None = None) -> dict[int, dict]:
    """Count a campaign (or every campaign) again from its deliveries and events and repair its
    counters: {campaign id: {counter: (had, exact)}} for what drifted. Each campaign is repaired in
    its own transaction (distribute.deliveries.recount), so `session` only checks the id."""
    from distribute.deliveries.recount import recount as run_recount

    require(actor, MANAGE)
    if campaign_id is not None:
        get_campaign(session, campaign_id)  # NotFound names the campaign
    return run_recount(engine, [campaign_id] if campaign_id is not None else None)
