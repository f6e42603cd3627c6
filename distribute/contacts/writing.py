"""The chunked writer: merged rows into the database, one transaction per chunk, with counts.

Each backend gets its fastest way in (the SQLite driver's executemany, PostgreSQL's COPY); a
contact already stored is merged into (nothing blanked, nothing re-activated), never replaced.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, any_, bindparam, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool

from distribute.contacts.columns import FIELDS, Row
from distribute.contacts.report import ImportReport
from distribute.models import Contact, ContactList, ContactTag, ListMember, utcnow


class _IdSet:
    """Contact ids seen by this import, as a paged bitmap: 1 bit per id, pages only where used.

    Knowing which contacts the file already touched (to count a row as merged rather than
    updated) without keeping every address of a million-row file in memory.
    """

    def __init__(self) -> None:
        self._pages: dict[int, bytearray] = {}

    def add(self, i: int) -> None:
        page = self._pages.get(i >> 15)
        if page is None:
            page = self._pages[i >> 15] = bytearray(4096)
        page[(i & 0x7FFF) >> 3] |= 1 << (i & 7)

    def discard(self, i: int) -> None:
        page = self._pages.get(i >> 15)
        if page is not None:
            page[(i & 0x7FFF) >> 3] &= ~(1 << (i & 7)) & 0xFF

    def __contains__(self, i: int) -> bool:
        page = self._pages.get(i >> 15)
        return page is not None and bool(page[(i & 0x7FFF) >> 3] & (1 << (i & 7)))


_contacts = Contact.__table__
_tags = ContactTag.__table__
_members = ListMember.__table__
_COMPARED = ("kind", *FIELDS)
_UPDATE = update(_contacts).where(_contacts.c.id == bindparam("u_id")).values(
    {c: bindparam(f"u_{c}") for c in (*_COMPARED, "status", "attributes", "updated_at")}
)


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _one_of(session: Session, column, values: list):
    """`column IN values`; on PostgreSQL `= ANY(array)`, one parameter: psycopg parses a
    statement of thousands of placeholders in Python, which costs more than running it."""
    if _is_postgresql(session):
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


_INSERTED = ("email", "email_key", "kind", *FIELDS, "status", "attributes")
_EXISTING = ("id", "email_key", "status", "attributes", *_COMPARED)


def _values(row: Row) -> tuple:
    attributes = json.dumps(row.attributes, ensure_ascii=False)
    return (row.email, row.key, row.kind, *(row.values.get(f) for f in FIELDS), row.status or "active", attributes)


class _SQLiteWrites:
    """Chunk writes on SQLite: the driver's executemany, which costs less than SQLAlchemy's
    per-row processing of the same statement."""

    def existing(self, session: Session, chunk: dict[str, Row]) -> dict[str, Any]:
        return _select_existing(session, list(chunk))

    def insert(self, session: Session, rows: list[Row], now) -> dict[str, int]:
        """Insert new contacts, skipping addresses inserted meanwhile; {email_key: id} of ours."""
        dialect = session.get_bind().dialect
        stamp = _contacts.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)(now)
        result = session.connection().exec_driver_sql(
            f"INSERT INTO {_contacts.name} ({', '.join(_INSERTED)}, created_at, updated_at) "
            f"VALUES ({', '.join('?' * (len(_INSERTED) + 2))}) ON CONFLICT (email_key) DO NOTHING",
            [(*_values(row), stamp, stamp) for row in rows],
        )
        mine = _one_of(session, _contacts.c.email_key, [row.key for row in rows])
        if result.rowcount != len(rows):  # another writer was first for some: their created_at is not ours
            mine = mine & (_contacts.c.created_at == now)
        return {key: id_ for id_, key in session.execute(select(_contacts.c.id, _contacts.c.email_key).where(mine))}

    def update(self, session: Session, changes: list[dict[str, Any]], now) -> None:
        for params in changes:
            params["u_updated_at"] = now
        session.execute(_UPDATE, changes)

    def add_pairs(self, session: Session, table, rows: list[tuple[Any, Any]]) -> None:
        """(a, b) rows into a two-column link table (tags, list members), skipping ones that exist."""
        columns = ", ".join(c.name for c in table.columns)
        session.connection().exec_driver_sql(
            f"INSERT INTO {table.name} ({columns}) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
        )


class _PostgreSQLWrites:
    """Chunk writes on PostgreSQL: rows go to a temporary table by COPY and on from there in one
    statement. psycopg sends COPY rows from C at a few µs each; the same rows as parameters
    (VALUES lists or unnest arrays) cost ten times that in Python."""

    @staticmethod
    def _copy(session: Session, name: str, columns: str, rows: Iterable[tuple]) -> Any:
        cursor = session.connection().connection.driver_connection.cursor()
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns}) ON COMMIT DROP")
        with cursor.copy(f"COPY {name} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return cursor

    def existing(self, session: Session, chunk: dict[str, Row]) -> dict[str, Any]:
        # The whole chunk is staged once: the lookup joins it, and the insert takes the new rows from it.
        columns = ", ".join(f"{c} text" for c in _INSERTED)
        picked = ", ".join(f"c.{c}" for c in _EXISTING)
        with self._copy(session, "import_rows", columns, (_values(row) for row in chunk.values())) as cursor:
            cursor.execute(f"SELECT {picked} FROM {_contacts.name} c JOIN import_rows r ON r.email_key = c.email_key")
            return {row[1]: _Existing(zip(_EXISTING, row)) for row in cursor}

    def insert(self, session: Session, rows: list[Row], now) -> dict[str, int]:
        """Insert the staged rows whose address is not stored (the `rows` given); {email_key: id}."""
        names = ", ".join(_INSERTED)
        picked = ", ".join("r.attributes::json" if c == "attributes" else f"r.{c}" for c in _INSERTED)
        with session.connection().connection.driver_connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_contacts.name} ({names}, created_at, updated_at) SELECT {picked}, %s, %s "
                f"FROM import_rows r WHERE NOT EXISTS (SELECT 1 FROM {_contacts.name} c WHERE c.email_key = r.email_key) "
                "ON CONFLICT (email_key) DO NOTHING RETURNING id, email_key",
                (now, now),
            )
            return {key: id_ for id_, key in cursor}

    def update(self, session: Session, changes: list[dict[str, Any]], now) -> None:
        set_columns = (*_COMPARED, "status", "attributes")
        columns = "id integer, " + ", ".join(f"{c} text" for c in set_columns)
        rows = (
            (p["u_id"], *(p[f"u_{c}"] for c in _COMPARED), p["u_status"], json.dumps(p["u_attributes"], ensure_ascii=False))
            for p in changes
        )
        assignments = ", ".join(f"{c} = u.{c}{'::json' if c == 'attributes' else ''}" for c in set_columns)
        with self._copy(session, "import_updates", columns, rows) as cursor:
            cursor.execute(
                f"UPDATE {_contacts.name} c SET {assignments}, updated_at = %s FROM import_updates u WHERE c.id = u.id",
                (now,),
            )

    def add_pairs(self, session: Session, table, rows: list[tuple[Any, Any]]) -> None:
        columns = ", ".join(f"{c.name} {'bigint' if isinstance(c.type, Integer) else 'text'}" for c in table.columns)
        names = ", ".join(c.name for c in table.columns)
        with self._copy(session, f"import_{table.name}", columns, rows) as cursor:
            cursor.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM import_{table.name} ON CONFLICT DO NOTHING")


class _Existing(dict):
    """A stored contact as read by the PostgreSQL lookup, with attribute access like a Row."""

    __getattr__ = dict.__getitem__


def _select_existing(session: Session, keys: list[str]) -> dict[str, Any]:
    stmt = select(*(_contacts.c[c] for c in _EXISTING)).where(_one_of(session, _contacts.c.email_key, keys))
    return {r.email_key: r for r in session.execute(stmt)}


def tags_of(session: Session, contact_ids: list[int]) -> dict[int, set[str]]:
    """{contact id: its tags} for the contacts given (those without tags are left out)."""
    found: dict[int, set[str]] = {}
    stmt = select(_tags.c.contact_id, _tags.c.tag).where(_one_of(session, _tags.c.contact_id, contact_ids))
    for contact_id, tag in session.execute(stmt):
        found.setdefault(contact_id, set()).add(tag)
    return found


class Writer:
    """Writes chunks of merged rows, one transaction each, and counts what they did.

    The writing runs in a thread of its own, one chunk behind the reading: while the database
    works (SQLite's C code and PostgreSQL's server both run without Python's lock), the next
    chunk is parsed and its addresses checked. At most three chunks are in memory.
    """

    def __init__(
        self, sessions: sessionmaker[Session], report: ImportReport, list_id: int | None, tags: frozenset[str]
    ):
        self.sessions = sessions
        self.report = report  # imported, updated, unchanged and merged_later are counted here only
        self.list_id = list_id
        self.tags = tags  # given to every contact of the file
        self.seen = _IdSet()  # contacts this import has counted already
        self.counted_unchanged = _IdSet()
        self.merged_later = 0  # rows that met their contact in an earlier chunk
        self.backend: _SQLiteWrites | _PostgreSQLWrites | None = None
        self._queue: queue.Queue[dict[str, Row] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        # An in-memory SQLite database is one connection per thread: another thread would see
        # an empty database. There the writing stays in the calling thread.
        if not isinstance(getattr(sessions.kw.get("bind"), "pool", None), SingletonThreadPool):
            self._thread = threading.Thread(target=self._run, name="contact-import-writer", daemon=True)
            self._thread.start()

    def submit(self, chunk: dict[str, Row]) -> None:
        if self._thread is None:
            self.write(chunk)
            return
        if self._error is not None:
            self.close()  # raises it
        self._queue.put(chunk)  # waits while the writer is still on the chunk before

    def close(self) -> None:
        """Wait for the chunks submitted; raise what went wrong writing them, if anything."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:  # after a failure, chunks are only drained so submit never blocks
                try:
                    self.write(chunk)
                except BaseException as exc:  # handed to the reading thread by close()
                    self._error = exc

    def write(self, chunk: dict[str, Row]) -> None:
        now = utcnow()
        with self.sessions() as session, session.begin():
            if self.backend is None:
                self.backend = _PostgreSQLWrites() if _is_postgresql(session) else _SQLiteWrites()
            backend = self.backend
            existing = backend.existing(session, chunk)
            ids: dict[str, int] = {}
            new = [row for key, row in chunk.items() if key not in existing]
            if new:
                ids = backend.insert(session, new, now)
                self.report.imported += len(ids)
                for id_ in ids.values():
                    self.seen.add(id_)
                lost = [row.key for row in new if row.key not in ids]
                if lost:  # another import inserted them meanwhile: merge into those instead
                    existing.update(_select_existing(session, lost))

            tags_now: dict[int, set[str]] = {}
            if existing and (self.tags or any(chunk[k].tags for k in existing)):
                tags_now = tags_of(session, [c.id for c in existing.values()])
            changes: list[dict[str, Any]] = []
            new_tags: list[tuple[int, str]] = []
            for key, current in existing.items():
                row = chunk[key]
                params = self._merge(current, row)
                missing = (row.tags | self.tags) - tags_now.get(current.id, set())
                new_tags.extend((current.id, t) for t in missing)
                changed = params is not None or bool(missing)
                if changed:
                    changes.append(params or self._params(current))
                self._count(current.id, changed)
                ids[key] = current.id
            if changes:
                backend.update(session, changes, now)
            for key, id_ in ids.items():
                if key not in existing:
                    new_tags.extend((id_, t) for t in chunk[key].tags | self.tags)
            if new_tags:
                backend.add_pairs(session, _tags, new_tags)
            if self.list_id is not None and ids:
                backend.add_pairs(session, _members, [(self.list_id, id_) for id_ in ids.values()])

    @staticmethod
    def _params(current) -> dict[str, Any]:
        params = {f"u_{c}": getattr(current, c) for c in _COMPARED}
        params.update(u_id=current.id, u_status=current.status, u_attributes=current.attributes or {})
        return params

    def _merge(self, current, row: Row) -> dict[str, Any] | None:
        """The update's parameters if the row changes the contact, else None."""
        params = None
        wanted = {"kind": row.kind, **row.values}  # the stored address form stays
        for column, value in wanted.items():
            if value != getattr(current, column):
                params = params or self._params(current)
                params[f"u_{column}"] = value
        if row.attributes:
            attributes = current.attributes or {}
            merged = {**attributes, **row.attributes}
            if merged != attributes:
                params = params or self._params(current)
                params["u_attributes"] = merged
        # Only an active contact changes status: nothing re-activates, nothing is overwritten.
        if row.status and current.status == "active":
            params = params or self._params(current)
            params["u_status"] = row.status
        return params

    def _count(self, contact_id: int, changed: bool) -> None:
        report = self.report
        if contact_id in self.seen:
            # An earlier chunk of this file already counted this contact.
            self.merged_later += 1
            if changed and contact_id in self.counted_unchanged:
                self.counted_unchanged.discard(contact_id)
                report.unchanged -= 1
                report.updated += 1
            return
        self.seen.add(contact_id)
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
            self.counted_unchanged.add(contact_id)


def ensure_list(sessions: sessionmaker[Session], name: str) -> int:
    stmt = select(ContactList.id).where(ContactList.name == name)
    with sessions() as session:
        found = session.scalar(stmt)
    if found is not None:
        return found
    try:
        with sessions() as session, session.begin():
            created = ContactList(name=name)
            session.add(created)
        return created.id
    except IntegrityError:  # created by someone else meanwhile
        with sessions() as session:
            return session.scalar(stmt)
