"""The audit log: every change made through a service, with who made it, readable by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribute.models import AuditEntry
from distribute.services.actor import MANAGE, Actor, require


def record(session: Session, actor: Actor, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Append one entry in the caller's transaction: the change and its record commit together."""
    session.add(AuditEntry(actor=actor.name, user_id=actor.user_id, via=actor.via, action=action,
                           target=target, detail=detail))


def entries(session: Session, actor: Actor, *, limit: int = 50, before: int | None = None,
            action: str | None = None, user_id: int | None = None) -> list[dict]:
    """The newest entries first; `before` (an entry id) pages back; `action` matches a prefix
    ("release" matches "release.add")."""
    require(actor, MANAGE)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 500)))
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "via": e.via, "action": e.action,
             "target": e.target, "detail": e.detail} for e in session.scalars(query)]
