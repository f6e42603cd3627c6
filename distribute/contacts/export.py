"""Export: contacts as CSV a spreadsheet can open, in keyset batches."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from distribute.models import KINDS
from distribute.contacts.columns import spreadsheet_safe
from distribute.contacts.writing import tags_of
from distribute.errors import NotFound, UserError
from distribute.models import Contact, ContactList, ListMember

EXPORT_COLUMNS = ("email", "name", "kind", "outlet", "beat", "region", "language", "place", "status", "tags", "attributes")


def export_contacts(
    session: Session,
    out: IO[str],
    *,
    among: Select[tuple[int]] | None = None,
    list_name: str | None = None,
    kind: str | None = None,
    batch_size: int = 1_000,
) -> int:
    """Write contacts as CSV to `out` (header first), in keyset batches; the number written.

    Filters combine: `among` (a SELECT of contact ids, such as a segment's), a static list, a kind.
    """
    conditions = []
    if kind is not None:
        if kind not in KINDS:
            raise UserError(f"unknown contact kind {kind!r}: use one of {', '.join(KINDS)}", field="kind")
        conditions.append(Contact.kind == kind)
    if list_name is not None:
        list_id = session.scalar(select(ContactList.id).where(ContactList.name == list_name))
        if list_id is None:
            raise NotFound(f"no list named {list_name!r}", field="list")
        conditions.append(Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id == list_id)))
    if among is not None:
        conditions.append(Contact.id.in_(among))

    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    written = 0
    for batch in _export_batches(session, conditions, batch_size):
        tags = tags_of(session, [c.id for c in batch])
        for c in batch:
            cells = [
                c.email, c.name, c.kind, c.outlet, c.beat, c.region, c.language, c.place, c.status,
                ", ".join(sorted(tags.get(c.id, ()))),
                json.dumps(c.attributes, ensure_ascii=False, sort_keys=True) if c.attributes else "",
            ]
            writer.writerow([spreadsheet_safe(v) if v else "" for v in cells])
        written += len(batch)
    return written


def _export_batches(session: Session, conditions: list, size: int) -> Iterator[list]:
    columns = select(
        Contact.id, Contact.email, Contact.name, Contact.kind, Contact.outlet, Contact.beat, Contact.region,
        Contact.language, Contact.place, Contact.status, Contact.attributes,
    )
    last = 0
    while True:
        stmt = columns.where(Contact.id > last, *conditions).order_by(Contact.id).limit(size)
        batch = session.execute(stmt).all()
        if not batch:
            return
        yield batch
        last = batch[-1].id
