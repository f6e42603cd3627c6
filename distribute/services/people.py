"""One contact: everything held about them, a contact added by hand, unsubscribe, suppress,
export their data, erase them.

Erasing (a person's right under the GDPR) deletes the contact with its tags and list memberships,
and clears the name, outlet and tracking data (user agent, IP) kept with their deliveries and
events; the address itself stays on the suppression list, because without it the next import of
an old sheet would bring them back and mail them."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from distribute.audience import suppression as suppressions
from distribute.contacts.addresses import normalise
from distribute.contacts.writing import tags_of
from distribute.db import retried_on_deadlock
from distribute.deliveries import counters
from distribute.errors import NotFound, UserError
from distribute.feedback.policy import suppress_address
from distribute.models import Campaign, Contact, ContactList, Delivery, Event, ListMember, Release, Suppression, utcnow
from distribute.services import audit, contacts
from distribute.services.actor import EDIT, READ, SUPPRESS, Actor, require

DELIVERIES_SHOWN = 500
FIELDS = ("name", "outlet", "beat", "region", "language", "place")


def _contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    return contact


def get(session: Session, actor: Actor, contact_id: int) -> dict[str, Any]:
    """The contact's fields, attributes, tags and lists, its suppression entry, and its
    deliveries (newest first, at most DELIVERIES_SHOWN) each with its events."""
    require(actor, READ)
    contact = _contact(session, contact_id)
    lists = list(session.execute(select(ContactList.id, ContactList.name).join(ListMember)
                                 .where(ListMember.contact_id == contact.id).order_by(ContactList.name)))
    suppressed = session.scalar(select(Suppression).where(Suppression.email_key == contact.email_key))
    return contacts.contact_row(contact, tags_of(session, [contact.id]).get(contact.id, ())) | {
        "attributes": contact.attributes or {}, "updated_at": contact.updated_at.isoformat(),
        "lists": [{"id": i, "name": n} for i, n in lists],
        "suppression": {"reason": suppressed.reason, "source": suppressed.source,
                        "created_at": suppressed.created_at.isoformat()} if suppressed else None,
        "deliveries": _deliveries(session, contact.id),
    }


def _deliveries(session: Session, contact_id: int, *, raw: bool = False) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Delivery, Campaign.variant, Campaign.is_test, Release.id, Release.title)
        .join(Campaign, Campaign.id == Delivery.campaign_id).join(Release, Release.id == Campaign.release_id)
        .where(Delivery.contact_id == contact_id).order_by(Delivery.id.desc()).limit(DELIVERIES_SHOWN)
    ).all()
    events: dict[int, list[dict]] = {}
    if rows:
        found = session.scalars(select(Event).where(Event.delivery_id.in_([r[0].id for r in rows]))
                                .order_by(Event.at, Event.id))
        for e in found:
            events.setdefault(e.delivery_id, []).append(
                {"type": e.type, "source": e.source, "at": e.at.isoformat(), "data": e.data}
                | ({"user_agent": e.user_agent, "ip": e.ip} if raw else {}))
    return [{"campaign_id": d.campaign_id, "release_id": release_id, "release": title, "variant": variant,
             "test": is_test, "email": d.email, "state": d.state, "bounce_kind": d.bounce_kind,
             "sent_at": d.sent_at.isoformat() if d.sent_at else None, "last_code": d.last_code,
             "last_reply": d.last_reply, "opens": d.opens, "clicks": d.clicks, "events": events.get(d.id, [])}
            for d, variant, is_test, release_id, title in rows]


def create(sessions: sessionmaker[Session], actor: Actor, *, email: str, kind: str, list_name: str | None = None,
           tags: tuple[str, ...] = (), **fields: str | None) -> dict[str, Any]:
    """Add one contact (or update the one with that address) through the importer, so that a
    contact added by hand obeys every rule an imported one does: the address normalised, a value
    too long refused, an unsubscribed contact never re-activated. The contact, as `get` gives it."""
    require(actor, EDIT)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise UserError(f"unknown contact field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    row = {"email": email, **{k: v or "" for k, v in fields.items()}}
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    source = io.BytesIO(text.getvalue().encode())
    source.name = "the contact"
    report = contacts.import_csv(sessions, actor, source, kind=kind, list_name=list_name, tags=tags,
                                 file_name="(added by hand)")
    if report["skipped"]:
        reason = report["skipped"][0]["reason"]
        raise UserError(reason, field="email" if "address" in reason else None)
    with sessions() as session:
        contact_id = session.scalar(select(Contact.id).where(Contact.email_key == normalise(email)[1]))
        return get(session, actor, contact_id) | {"created": bool(report["imported"])}


def unsubscribe(session: Session, actor: Actor, contact_id: int) -> dict[str, Any]:
    """Do what the person's own unsubscribe link does: status unsubscribed, and the address on
    the suppression list (source "unsubscribe"). EDIT is enough: it is the person's wish, passed on."""
    require(actor, EDIT)
    contact = _contact(session, contact_id)
    suppress_address(session, contact.email_key, f"unsubscribed by {actor.name}", "unsubscribe", "unsubscribed",
                     utcnow())
    audit.record(session, actor, "contact.unsubscribe", f"contact:{contact.id}")
    session.refresh(contact)
    return {"id": contact.id, "status": contact.status}


def suppress(session: Session, actor: Actor, contact_id: int, reason: str) -> dict[str, Any]:
    """Put this contact's address on the suppression list (an admin's change)."""
    require(actor, SUPPRESS)
    contact = _contact(session, contact_id)
    report = suppressions.suppress(session, [contact.email_key], reason, source="manual")
    audit.record(session, actor, "contact.suppress", f"contact:{contact.id}", {"reason": reason.strip()})
    return {"id": contact.id, "suppressed": True, "already": bool(report.already)}


def export(session: Session, actor: Actor, contact_id: int) -> dict[str, Any]:
    """Everything held about the person, as one JSON document (a subject access request)."""
    require(actor, READ)
    record = get(session, actor, contact_id)
    record["deliveries"] = _deliveries(session, contact_id, raw=True)
    audit.record(session, actor, "contact.export", f"contact:{contact_id}")
    return {"contact": record, "exported_at": utcnow().isoformat()}


def erase(session: Session, actor: Actor, contact_id: int, reason: str = "erased on request") -> dict[str, Any]:
    """Delete the contact and the personal data kept with its deliveries and events; keep its
    address on the suppression list so that it is never imported and mailed again."""
    require(actor, SUPPRESS)
    # Its locks meet those of the sweep's and the retention purge's bulk writes in an order none
    # of them can choose: when PostgreSQL breaks a deadlock by ending the erase, it runs again.
    return retried_on_deadlock(session, lambda: _erase(session, actor, contact_id, reason))


def _erase(session: Session, actor: Actor, contact_id: int, reason: str) -> dict[str, Any]:
    contact = _contact(session, contact_id)
    key = contact.email_key
    d = Delivery
    # The person's deliveries first, then the suppression list and the counters: the order in
    # which the sender writes a bounce (its delivery, the counters, the address's suppression), so
    # that an erase and a bounce of the same person wait one for the other, never both at once.
    session.execute(select(d.id).where(d.contact_id == contact.id).order_by(d.id).with_for_update())
    suppress_address(session, key, reason.strip() or "erased on request", "manual", "unsubscribed", utcnow())
    deliveries = select(Delivery.id).where(Delivery.contact_id == contact.id).scalar_subquery()
    session.execute(update(Event).where(Event.delivery_id.in_(deliveries)).values(user_agent=None, ip=None, raw=None))
    counters.outlets_cleared(session, session.execute(
        select(d.campaign_id, d.outlet, d.state, d.first_opened_at, d.first_clicked_at)
        .where(d.contact_id == contact.id).order_by(d.id).with_for_update()).all())  # and one a fan-out added since
    session.execute(update(Delivery).where(Delivery.contact_id == contact.id)
                    .values(name=None, outlet=None, email=key, contact_id=None))
    session.execute(delete(Contact).where(Contact.id == contact.id))
    # The audit entry names the contact's id only: the address stays on the suppression list.
    audit.record(session, actor, "contact.erase", f"contact:{contact_id}")
    return {"id": contact_id, "erased": True, "suppressed": key}
