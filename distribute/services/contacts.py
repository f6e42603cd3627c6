"""Contacts in bulk: CSV import and export, and the static lists.

The import commits chunk by chunk (a million rows must not be one transaction, and an interrupted
import is simply run again), so it takes the sessionmaker rather than one session; its audit entry
is written when it ends, with what it did."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from distribute.audience import resolve
from distribute.contacts.export import export_contacts
from distribute.contacts.importing import DEFAULT_CHUNK_SIZE, import_contacts
from distribute.errors import UserError
from distribute.models import ContactList, ListMember
from distribute.services import audit
from distribute.services.actor import EDIT, READ, Actor, require

_IMPORT_FIELDS = {"kind", "tags", "list"}  # errors about anything else are about the file itself


def import_csv(sessions: sessionmaker[Session], actor: Actor, source: str | os.PathLike[str] | IO[bytes], *,
               kind: str, list_name: str | None = None, tags: Iterable[str] = (),
               on_progress: Callable[[int], None] | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
               file_name: str | None = None) -> dict[str, Any]:
    """Import a CSV file of contacts; the report: {"imported", "updated", "unchanged", "merged",
    "skipped": [{"line", "reason"}], "rows", "list"}. A file that cannot be read at all raises
    UserError (field "file") before anything is stored; bad rows are reported and the rest kept."""
    require(actor, EDIT)
    try:
        report = import_contacts(sessions, source, kind=kind, list_name=list_name, tags=tags,
                                 on_progress=on_progress, chunk_size=chunk_size)
    except UserError as exc:
        if exc.field not in _IMPORT_FIELDS:
            exc.field = "file"
        raise
    result = report.to_dict()
    name = file_name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None))
    with sessions.begin() as session:
        audit.record(session, actor, "contacts.import", f"list:{report.list_name}" if report.list_name else None,
                     {"file": str(name) if name else None, "kind": kind, "tags": sorted(tags),
                      **{k: result[k] for k in ("rows", "imported", "updated", "unchanged", "merged")},
                      "skipped": report.skipped_count})
    return result


def export_csv(session: Session, actor: Actor, out: IO[str], *, segment: str | None = None,
               list_name: str | None = None, kind: str | None = None) -> int:
    """Write the chosen contacts as CSV to `out`; the number written. Filters combine. Exporting
    personal data is recorded in the audit log, as a change would be."""
    require(actor, READ)
    among = resolve.segment_contact_ids(session, segment) if segment is not None else None
    written = export_contacts(session, out, among=among, list_name=list_name, kind=kind)
    audit.record(session, actor, "contacts.export", None,
                 {"segment": segment, "list": list_name, "kind": kind, "contacts": written})
    return written


def lists(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every static list with its member count: [{"id", "name", "members", "created_at"}]."""
    require(actor, READ)
    stmt = (
        select(ContactList.id, ContactList.name, func.count(ListMember.contact_id), ContactList.created_at)
        .outerjoin(ListMember, ListMember.list_id == ContactList.id)
        .group_by(ContactList.id, ContactList.name, ContactList.created_at)
        .order_by(ContactList.name)
    )
    return [{"id": list_id, "name": name, "members": members, "created_at": created.isoformat()}
            for list_id, name, members, created in session.execute(stmt)]
