"""How campaigns did, for every interface: the per-campaign stats (stats/campaign.py, which
reads the counters) behind the READ permission."""

from __future__ import annotations

from sqlalchemy.orm import Session

from distribute.services.actor import READ, Actor, require
from distribute.stats.campaign import campaign_stats


def campaign(session: Session, actor: Actor, campaign_id: int, *, detail_limit: int = 200) -> dict:
    """The JSON shape documented in stats/campaign.py (and the README), kept stable."""
    require(actor, READ)
    return campaign_stats(session, campaign_id, detail_limit=detail_limit)
