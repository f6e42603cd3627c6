"""Suppression policy: which feedback takes an address off every future send.

A hard bounce, a complaint and an unsubscribe suppress the address at once; soft bounces suppress
after `DISTRIBUTE_SOFT_BOUNCE_CAMPAIGNS` campaigns in a row; a refusal about us or the message
("block") never does. Functions take a Session or a Connection: the event writer
(distribute.feedback.events) and the sender (inside its own transaction) apply the same policy.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from distribute import states
from distribute.config import Settings
from distribute.db import insert_for
from distribute.models import Campaign, Contact, Delivery, Suppression


def apply_bounce_policy(db, email_key: str, kind: str | None, reason: str | None, settings: Settings,
                        at: dt.datetime) -> None:
    """Hard: suppress now. Soft: suppress when the last N campaigns to the address all soft-bounced.
    Block (a refusal about us or the message): never; the campaign's circuit breaker counts it."""
    if kind == "hard":
        suppress_address(db, email_key, f"hard bounce: {reason or ''}".strip()[:500], "hard-bounce", "bounced", at)
    elif kind == "soft":
        n = settings.soft_bounce_campaigns
        # Test sends say nothing about the address's health: only real campaigns count.
        recent = db.execute(
            select(Delivery.bounce_kind).join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.email_key == email_key, Campaign.is_test.is_(False),
                   Delivery.state.in_((states.DELIVERED, states.BOUNCED, states.COMPLAINED)))
            .order_by(Delivery.campaign_id.desc()).limit(n)
        ).scalars().all()
        if len(recent) == n and all(k == "soft" for k in recent):
            suppress_address(db, email_key, f"soft bounces in {n} campaigns in a row: {reason or ''}".strip()[:500],
                             "soft-bounce", "bounced", at)


def suppress_address(db, email_key: str, reason: str, source: str, contact_status: str, at: dt.datetime) -> None:
    db.execute(insert_for(db, Suppression).values(
        email_key=email_key, reason=reason[:500], source=source, created_at=at,
    ).on_conflict_do_nothing(index_elements=["email_key"]))
    # The contact shows why; an address already unsubscribed or bounced keeps its first status.
    db.execute(update(Contact).where(Contact.email_key == email_key, Contact.status == "active")
               .values(status=contact_status, updated_at=at))
