"""Contacts in bulk: browse and search, CSV import and export, and the static lists.

The import commits chunk by chunk (a million rows must not be one transaction, and an interrupted
import is simply run again), so it takes the sessionmaker rather than one session; its audit entry
is written when it ends, with what it did."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import IO, Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from distribute.audience import resolve
from distribute.contacts.columns import normalise_tag
from distribute.contacts.export import export_contacts
from distribute.contacts.writing import tags_of
from distribute.contacts.importing import DEFAULT_CHUNK_SIZE, import_contacts
from distribute.errors import NotFound, UserError
from distribute.models import KINDS, Contact, ContactList, ContactTag, ListMember
from distribute.services import audit
from distribute.services.actor import EDIT, READ, Actor, require

_IMPORT_FIELDS = {"kind", "tags", "list"}  # errors about anything else are about the file itself
PAGE_SIZE, MAX_PAGE = 50, 500


def _prefix(text: str) -> str:
    """A LIKE pattern for "starts with `text`", its wildcards escaped. Built here rather than in
    SQL, so that PostgreSQL sees a constant prefix and can read the pattern indexes."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search(q: str):
    q = " ".join(q.split()).lower()
    pattern = _prefix(q)
    by_email = Contact.email_key.like(pattern, escape="\\")
    if "@" in q:
        return by_email
    return by_email | func.lower(Contact.name).like(pattern, escape="\\") \
        | func.lower(Contact.outlet).like(pattern, escape="\\")


def _filters(session: Session, *, q: str | None, kind: str | None, list_name: str | None, tag: str | None,
             language: str | None) -> list:
    where = []
    if q and q.strip():
        where.append(_search(q))
    if kind:
        if kind not in KINDS:
            raise UserError(f"unknown contact kind {kind!r}: use one of {', '.join(KINDS)}", field="kind")
        where.append(Contact.kind == kind)
    if list_name:
        list_id = session.scalar(select(ContactList.id).where(ContactList.name == list_name))
        if list_id is None:
            raise NotFound(f"no list named {list_name!r}", field="list")
        where.append(Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id == list_id)))
    if tag and tag.strip():
        where.append(exists().where(ContactTag.contact_id == Contact.id, ContactTag.tag == normalise_tag(tag)))
    if language and language.strip():
        where.append(Contact.language == language.strip().lower())
    return where


def browse(session: Session, actor: Actor, *, q: str | None = None, kind: str | None = None,
           list_name: str | None = None, tag: str | None = None, language: str | None = None,
           before: int | None = None, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """A page of contacts, newest first: {"contacts": [...], "next": the `before` of the next page
    or None}. `q` is a prefix of the address, the name or the outlet (any case); the filters
    combine. Keyset pages on the id, so page 1,000 costs what page 1 does."""
    require(actor, READ)
    limit = max(1, min(limit, MAX_PAGE))
    where = _filters(session, q=q, kind=kind, list_name=list_name, tag=tag, language=language)
    if before is not None:
        where.append(Contact.id < before)
    rows = list(session.scalars(select(Contact).where(*where).order_by(Contact.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    tags = tags_of(session, [c.id for c in rows]) if rows else {}
    return {"contacts": [contact_row(c, tags.get(c.id, ())) for c in rows],
            "next": rows[-1].id if more else None}


def contact_row(contact: Contact, tags: Iterable[str] = ()) -> dict[str, Any]:
    return {"id": contact.id, "email": contact.email, "name": contact.name, "kind": contact.kind,
            "outlet": contact.outlet, "beat": contact.beat, "region": contact.region, "language": contact.language,
            "place": contact.place, "status": contact.status, "tags": sorted(tags),
            "created_at": contact.created_at.isoformat()}


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
