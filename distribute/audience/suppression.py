"""The suppression list: addresses that must never be mailed again, and why.

Rows are keyed by the same lowercased email key as contacts, so an audience drops a suppressed
contact with one indexed NOT EXISTS (see `suppressed`). Adding is idempotent: inserts use
ON CONFLICT DO NOTHING, so a bulk import and an unsubscribe arriving at the same moment cannot
fail each other, and an address already on the list keeps its first reason.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from sqlalchemy import ColumnElement, delete, exists, func, select
from sqlalchemy.orm import Session

from distribute.contacts.addresses import InvalidAddress, normalise
from distribute.db import insert_for
from distribute.errors import NotFound, UserError
from distribute.models import Contact, Suppression

SOURCES = ("manual", "import", "unsubscribe", "hard-bounce", "soft-bounce", "complaint")
EMAIL_HEADERS = ("email", "e-mail", "email address", "e-mail address", "email_address", "mail")
BATCH_SIZE = 500  # rows per INSERT: 4 parameters each stays far below SQLite's variable limit


class NotSuppressed(NotFound):
    pass


@dataclass(frozen=True)
class Rejected:
    """An address that was not accepted, with the line it came from (None for arguments)."""

    value: str
    reason: str
    line: int | None = None

    def as_dict(self) -> dict:
        return {"line": self.line, "value": self.value, "reason": self.reason}


@dataclass
class SuppressionReport:
    added: list[str] = field(default_factory=list)  # keys newly on the list
    already: list[str] = field(default_factory=list)  # keys that were on it before
    invalid: list[Rejected] = field(default_factory=list)
    repeated: int = 0  # addresses given more than once in the same input

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "already": self.already,
            "invalid": [r.as_dict() for r in self.invalid],
            "repeated": self.repeated,
        }


def suppressed(email_key: ColumnElement[str] = Contact.email_key) -> ColumnElement[bool]:
    """True when the address in `email_key` is on the suppression list (a correlated EXISTS)."""
    return exists(select(Suppression.id).where(Suppression.email_key == email_key))


def is_suppressed(session: Session, key: str) -> bool:
    return session.scalar(select(exists().where(Suppression.email_key == key.strip().lower()))) or False


def _check(reason: str, source: str) -> str:
    if source not in SOURCES:
        raise UserError(f"unknown suppression source {source!r}; use one of {', '.join(SOURCES)}", field="source")
    reason = (reason or "").strip()
    if not reason:
        raise UserError("give a reason for the suppression (it is kept with the address)", field="reason")
    if len(reason) > 500:
        raise UserError(f"the reason is {len(reason)} characters long; keep it under 500", field="reason")
    return reason


def _key(raw: str) -> str:
    """The email key of one entry; accepts "Name <address>" as mail clients copy it."""
    text = raw.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rfind("<") + 1 : -1]
    return normalise(text)[1]


class _Writer:
    """Collects keys and inserts them in batches, sorting each into added and already."""

    def __init__(self, session: Session, reason: str, source: str):
        self.session = session
        self.reason = reason
        self.source = source
        self.report = SuppressionReport()
        self._pending: list[str] = []
        self._seen: set[str] = set()

    def add(self, raw: str, line: int | None = None) -> None:
        try:
            key = _key(raw)
        except InvalidAddress as exc:
            self.report.invalid.append(Rejected(raw.strip(), str(exc), line))
            return
        if key in self._seen:
            self.report.repeated += 1
            return
        self._seen.add(key)
        self._pending.append(key)
        if len(self._pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        keys, self._pending = self._pending, []
        now = dt.datetime.now(dt.UTC)
        rows = [{"email_key": k, "reason": self.reason, "source": self.source, "created_at": now} for k in keys]
        stmt = (
            insert_for(self.session, Suppression)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[Suppression.email_key])
            .returning(Suppression.email_key)
        )
        added = set(self.session.scalars(stmt))
        for key in keys:
            (self.report.added if key in added else self.report.already).append(key)

    def finish(self) -> SuppressionReport:
        self.flush()
        return self.report


def suppress(session: Session, emails: Iterable[str], reason: str, source: str = "manual") -> SuppressionReport:
    """Put addresses on the suppression list.

    Each address is validated on its own: invalid ones are reported in `invalid` and the others
    are still added. Addresses already suppressed keep their first reason and are reported in
    `already`.
    """
    writer = _Writer(session, _check(reason, source), source)
    for raw in emails:
        writer.add(raw)
    return writer.finish()


def import_suppressions(
    session: Session, path: str | Path | IO[str], reason: str, source: str = "import"
) -> SuppressionReport:
    """Suppress every address in a file: one address per line, or a CSV with an email column.

    Blank lines and lines starting with # are skipped in a plain list. Bad lines are reported
    with their line numbers and the good ones are kept. The file is read as a stream.
    """
    writer = _Writer(session, _check(reason, source), source)
    if isinstance(path, (str, Path)):
        name = str(path)
        try:
            stream: IO[str] = open(path, encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise UserError(f"cannot read {name}: {exc.strerror}") from None
    else:  # an open text stream (stdin, StringIO): read it, leave closing to its owner
        name, stream = getattr(path, "name", "the input"), path
    try:
        for line, value in _entries(stream, name):
            writer.add(value, line)
    except UnicodeDecodeError:
        raise UserError(f"{name} is not UTF-8 text; save it as UTF-8 (CSV UTF-8 in Excel) and try again") from None
    finally:
        if stream is not path:
            stream.close()
    return writer.finish()


def _entries(stream: IO[str], name: str) -> Iterator[tuple[int, str]]:
    """(line number, address) for each entry of a plain list or a CSV with an email column."""
    number = 0
    first = ""
    for first in stream:
        number += 1
        if first.strip():
            break
    else:
        return
    header = first.strip().lstrip("\ufeff")
    delimiter = next((d for d in (",", ";", "\t") if d in header), None)
    if delimiter is None:
        if header.lower() not in EMAIL_HEADERS:  # a one-column file may still carry a header
            if not header.startswith("#"):
                yield number, header
        for text in stream:
            number += 1
            text = text.strip()
            if text and not text.startswith("#"):
                yield number, text
        return

    columns = [c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter))]
    column = next((columns.index(h) for h in EMAIL_HEADERS if h in columns), None)
    if column is None:
        raise UserError(
            f"{name} looks like a CSV file but has no email column (its first line has: "
            f"{', '.join(c for c in columns if c) or 'nothing'}); name the column 'email'"
        )
    reader = csv.reader(stream, delimiter=delimiter)
    for row in reader:
        # line_num counts the lines the reader has consumed, so a quoted multi-line cell
        # still leaves later rows with their true line numbers.
        line = number + reader.line_num
        if any(cell.strip() for cell in row):
            yield line, row[column].strip() if column < len(row) else ""  # empty: reported, with its line


def unsuppress(session: Session, email: str) -> Suppression:
    """Take an address off the suppression list; returns the removed row (with its reason).

    This does not change the contact's own status: someone who unsubscribed stays unsubscribed.
    """
    try:
        key = _key(email)
    except InvalidAddress:
        key = email.strip().lower()  # rows written by other paths may predate today's checks
    row = session.scalar(select(Suppression).where(Suppression.email_key == key))
    if row is None:
        raise NotSuppressed(f"{email.strip()} is not on the suppression list", field="email")
    session.execute(delete(Suppression).where(Suppression.id == row.id))
    return row


def list_suppressions(
    session: Session, *, source: str | None = None, search: str | None = None, limit: int | None = None,
    after: str | None = None,
) -> list[Suppression]:
    """By address; `after` (an address) starts past it, for keyset pages on the unique key."""
    stmt = select(Suppression).order_by(Suppression.email_key)
    if after:
        stmt = stmt.where(Suppression.email_key > after)
    if source:
        if source not in SOURCES:
            raise UserError(f"unknown suppression source {source!r}; use one of {', '.join(SOURCES)}", field="source")
        stmt = stmt.where(Suppression.source == source)
    if search:
        stmt = stmt.where(Suppression.email_key.contains(search.strip().lower(), autoescape=True))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def count_suppressions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Suppression)) or 0


__all__ = [
    "SOURCES",
    "NotSuppressed",
    "Rejected",
    "SuppressionReport",
    "count_suppressions",
    "import_suppressions",
    "is_suppressed",
    "list_suppressions",
    "suppress",
    "suppressed",
    "unsuppress",
]
