"""A recipient's own preferences, reached by the signed link in a message: journalists choose
their beats, supporters the interests (tags) they hear about. The signed token is the
permission, so these take no Actor; the recipient's choice is not a staff change to audit."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from distribute.models import Contact, ContactTag, Delivery, utcnow

_BEATS = re.compile(r"\s*[,;/|]\s*")


def contact_of(session: Session, delivery_id: int) -> Contact | None:
    """The contact a delivery went to, or None once that contact was erased."""
    contact_id = session.scalar(select(Delivery.contact_id).where(Delivery.id == delivery_id))
    return session.get(Contact, contact_id) if contact_id is not None else None


def options(session: Session, contact: Contact) -> list[str]:
    """What the recipient may untick: a journalist's beats, a supporter's tags."""
    if contact.kind == "journalist":
        return [b for b in _BEATS.split(contact.beat or "") if b]
    return sorted(session.scalars(select(ContactTag.tag).where(ContactTag.contact_id == contact.id)))


def keep_only(session: Session, contact: Contact, keep: list[str]) -> list[str]:
    """Drop every option not in `keep` (unknown values are ignored); the options left."""
    current = options(session, contact)
    kept = [o for o in current if o in keep]
    dropped = [o for o in current if o not in kept]
    if contact.kind == "journalist":
        contact.beat = ", ".join(kept) or None
    elif dropped:
        session.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id, ContactTag.tag.in_(dropped)))
    contact.updated_at = utcnow()
    return options(session, contact)
