"""The suppression list: addresses never mailed again. Changing it is an admin's job (SUPPRESS).

Unsubscribing one contact from its staff page is not a suppression-list change in this sense:
it does what the person's own unsubscribe link does, and needs only EDIT (see services.contacts)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribute.audience import suppression as suppressions
from distribute.errors import UserError
from distribute.models import Contact, Suppression
from distribute.services import audit
from distribute.services.actor import SUPPRESS, Actor, require

SOURCES = suppressions.SOURCES


def row_dict(row: Suppression) -> dict[str, Any]:
    return {"email": row.email_key, "reason": row.reason, "source": row.source, "created_at": row.created_at.isoformat()}


def add(session: Session, actor: Actor, *, emails: Iterable[str] = (), file: str | Path | IO[str] | None = None,
        reason: str, source: str | None = None) -> dict[str, Any]:
    """Suppress addresses given one by one and/or every address of a file (one per line, or a
    CSV with an email column). Invalid ones are reported with their line and the others kept;
    already suppressed ones keep their first reason. The report: {"added", "already",
    "invalid": [{"line", "value", "reason"}], "repeated"}."""
    require(actor, SUPPRESS)
    emails = list(emails)
    if not emails and file is None:
        raise UserError("give at least one address or a file of addresses", field="emails")
    reports = []
    if emails:
        reports.append(suppressions.suppress(session, emails, reason, source=source or "manual"))
    if file is not None:
        reports.append(suppressions.import_suppressions(session, file, reason, source=source or "import"))
    report = _merge(reports)
    if report.added:
        audit.record(session, actor, "suppression.add", None,
                     {"added": len(report.added), "already": len(report.already), "invalid": len(report.invalid),
                      "source": source or ", ".join(["manual"] * bool(emails) + ["import"] * (file is not None)),
                      "reason": reason.strip(),
                      **({"emails": report.added} if len(report.added) <= 20 else {})})
    return report.as_dict()


def _merge(reports: list[suppressions.SuppressionReport]) -> suppressions.SuppressionReport:
    merged = suppressions.SuppressionReport()
    for report in reports:
        merged.added += report.added
        merged.already += [key for key in report.already if key not in merged.added]
        merged.invalid += report.invalid
        merged.repeated += report.repeated
    return merged


def remove(session: Session, actor: Actor, email: str) -> dict[str, Any]:
    """Take an address off the list. The contact's own status does not change: the answer says
    what it is, since a contact still marked unsubscribed or bounced is still not mailed."""
    require(actor, SUPPRESS)
    row = suppressions.unsuppress(session, email)
    status = session.scalar(select(Contact.status).where(Contact.email_key == row.email_key))
    audit.record(session, actor, "suppression.remove", f"suppression:{row.email_key}",
                 {"was": row.source, "reason": row.reason})
    return row_dict(row) | {"contact_status": status}


def list_page(session: Session, actor: Actor, *, source: str | None = None, search: str | None = None,
              limit: int | None = None, after: str | None = None) -> list[dict[str, Any]]:
    """Suppressed addresses by address; `after` (the last address of a page) pages on."""
    require(actor, SUPPRESS)
    rows = suppressions.list_suppressions(session, source=source, search=search, limit=limit, after=after)
    return [row_dict(s) for s in rows]


def count(session: Session, actor: Actor) -> int:
    require(actor, SUPPRESS)
    return suppressions.count_suppressions(session)
