"""Finding a campaign by id: apart from campaigns.py so that what only reads a campaign (stats,
`distribute stats`) starts without loading the sending pipeline (rendering, rules, premailer)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from distribute.errors import NotFound
from distribute.models import Campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id}", field="campaign")
    return campaign
