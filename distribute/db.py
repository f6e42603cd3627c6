"""Engine, sessions and schema upgrades (Alembic)."""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import Engine, bindparam, cast, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, *, connect_timeout: float | None = None, pool_size: int = 5) -> Engine:
    """An engine for the URL; `connect_timeout` bounds how long an unreachable server may take
    to say so (a startup check), otherwise the driver's default applies. `pool_size`: the
    connections kept open between uses (opened as needed): as many as the threads that use
    them, or each batch of a thread beyond it opens and closes a connection of its own."""
    if url.startswith("sqlite"):
        _create_private(make_url(url).database)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets a worker write while the CLI reads; foreign keys are off by default in SQLite.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    connect_args = {"connect_timeout": max(1, round(connect_timeout))} if connect_timeout else {}
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, connect_args=connect_args)


def _create_private(database: str | None) -> None:
    """Create the SQLite file readable by its owner only, before SQLite would create it under the
    umask (usually world-readable): it holds addresses and tracking data. SQLite gives the -wal
    and -shm files it makes beside it the database file's own mode, so they follow. A file that
    is already there is left as it is; an in-memory database has no file."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass  # there already; or a missing folder, no permission: SQLite says so when it connects


def insert_for(db, table):
    """An INSERT that can say ON CONFLICT, in the dialect of the database behind `db` (a Session
    or a Connection): the project runs on PostgreSQL and SQLite, which both have it."""
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    return (postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert)(table)


def unnested(name: str, columns: dict[str, Any]):
    """PostgreSQL: `unnest(CAST(:name_col AS type[]), …) AS name(col, …)`, rows bound as one array
    per column (`as_arrays`). A statement over it has one shape however many rows it carries: it
    is compiled once and sent as one, where a multi-row VALUES is compiled again for every size
    and an executemany sends a statement per row."""
    return func.unnest(*(cast(bindparam(f"{name}_{col}"), postgresql.ARRAY(type_)) for col, type_ in columns.items())
                       ).table_valued(*columns).render_derived(name=name)


def as_arrays(name: str, columns, rows: list[dict]) -> dict[str, list]:
    """The parameters of `unnested(name, columns)` for these rows (dicts with every column)."""
    return {f"{name}_{col}": [row[col] for row in rows] for col in columns}


def core(db):
    """The Core Connection of a Session (or the Connection itself): many rows of parameters are
    then a plain executemany, not the ORM's bulk machinery."""
    return db.connection() if isinstance(db, Session) else db


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# Alembic is imported by the functions that use it: a command that only reads (`distribute stats`)
# starts without it.

def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create the schema or bring it up to date."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration (one small query). Every command that
    uses the database asks, so this reads the revision ids from the migration files as text and
    the database's from alembic_version, without loading Alembic and every migration module."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        current = set(conn.scalars(text("SELECT version_num FROM alembic_version")))
    return current == migration_heads()


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def migration_heads() -> set[str]:
    """The revisions no other migration revises (tests check this against Alembic's own answer)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION.findall(path.read_text()):
            (revisions if key == "revision" else revised).add(value)
    return revisions - revised


class DriverStatement:
    """A statement compiled once per dialect and handed to the driver as SQL text with its
    parameters. For the few statements a worker runs for every message: for a large statement
    (a move with its counters), SQLAlchemy's work per execution (walking the statement for its
    cache key, its execution context, its result) costs more CPU than the database spends on
    it. Each parameter still goes through its type's conversion, as SQLAlchemy would do.

    With psycopg the text is rewritten once with the server's own placeholders ($1 …) and run
    by a raw cursor as a prepared statement: the driver neither parses it nor maps names at each
    run. A driver error is raised as SQLAlchemy raises it (OperationalError …), and a connection
    that is gone is invalidated, so callers handle both paths alike."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def one(self, conn, params: dict) -> tuple:
        """The statement's one row, run with `params` (and the statement's own constants)."""
        return self.all(conn, params)[0]

    def all(self, conn, params: dict) -> list:
        """The statement's rows (named tuples), run with `params` (and its own constants)."""
        compiled = self._compiled.get(conn.dialect.name)
        if compiled is None:
            compiled = self._compiled[conn.dialect.name] = _Compiled(self.statement, conn.dialect)
        values = compiled.values(params)
        if not compiled.numbered:
            return conn.exec_driver_sql(compiled.sql, values).all()
        raw = conn.connection.dbapi_connection
        cursor = None
        try:
            cursor = _psycopg().RawCursor(raw, row_factory=_psycopg().rows.namedtuple_row)
            cursor.execute(compiled.sql, values, prepare=True)
            return cursor.fetchall()
        except _psycopg().Error as exc:
            gone = conn.dialect.is_disconnect(exc, raw, cursor)
            if gone:
                conn.invalidate(exc)
            raise DBAPIError.instance(compiled.sql, values, exc, _psycopg().Error, connection_invalidated=gone,
                                      dialect=conn.dialect) from exc


def _psycopg():
    import psycopg
    import psycopg.rows

    return psycopg


_NAMED = re.compile(r"%\((\w+)\)s|%%")


class _Compiled:
    """A statement's SQL for one dialect, its parameters in order and its constants converted."""

    def __init__(self, statement, dialect):
        c = statement.compile(dialect=dialect)
        self._convert = dict(c._bind_processors)
        self._defaults = {key: self._convert[key](value) if key in self._convert else value
                          for key, value in c.params.items()}
        self.numbered = dialect.driver == "psycopg" and dialect.paramstyle == "pyformat"
        if not self.numbered:
            self.sql, self.order = c.string, None
            return
        order: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(0) == "%%":
                return "%"
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        self.sql, self.order = _NAMED.sub(number, c.string), order

    def values(self, params: dict):
        convert, defaults = self._convert, self._defaults

        def value(key):
            if key not in params:
                return defaults[key]
            process = convert.get(key)
            return process(params[key]) if process else params[key]

        if self.order is None:
            return {key: value(key) for key in defaults.keys() | params.keys()}
        return [value(key) for key in self.order]


@contextmanager
def set_based(session: Session):
    """Around one statement that joins a whole audience to a release's earlier deliveries (its
    fan-out, its count of who already has it), in the caller's transaction: PostgreSQL may not
    join row by row. With no statistics yet (a table just imported into or fanned out to, before
    the autovacuum has come to it) it guesses a handful of rows on each side and compares every
    contact with every earlier delivery: 16,000,000 comparisons for 4,000 contacts, quadratic.
    As sets (hash or merge joins) each side is read once: linear, at the price, for a tiny
    audience among many contacts, of reading what an index would have skipped."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.scalar(select(func.current_setting("enable_nestloop")))
    session.execute(select(func.set_config("enable_nestloop", "off", True)))  # for this transaction only
    yield  # a failed statement ends the transaction, and the setting with it
    session.execute(select(func.set_config("enable_nestloop", before, True)))


def refresh_statistics(engine: Engine, table, *columns) -> None:
    """ANALYZE these columns of `table` on PostgreSQL, after a bulk write that changed what they
    hold, so the next statements are planned for the rows there now. The autovacuum analyses a
    table only once a tenth of it has changed: until then the planner would take a new campaign
    for a single row, and each claim of a batch would read the whole campaign to find its ids
    (at 100,000 recipients, half the database's CPU per message). ANALYZE reads a sample of
    fixed size, however large the table.

    SKIP_LOCKED: a VACUUM or ANALYZE of the table already running is neither waited for nor
    cancelled (PostgreSQL cancels an autovacuum that blocks a lock request). What PostgreSQL
    says instead of analysing (that, or a table we do not own) comes as a notice, not an error,
    and is logged: the refresh makes plans better, nothing depends on it."""
    if engine.dialect.name != "postgresql":
        return  # SQLite plans without statistics unless asked for them
    preparer = engine.dialect.identifier_preparer
    names = ", ".join(preparer.quote(column.expression.name) for column in columns)
    what = preparer.format_table(table.__table__)
    said: list[str] = []

    def heard(notice) -> None:  # a psycopg Diagnostic
        if notice.severity_nonlocalized == "WARNING":
            said.append(notice.message_primary)

    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.add_notice_handler(heard)
            try:
                conn.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {what} ({names})")
                conn.commit()
            finally:
                raw.remove_notice_handler(heard)
    except OperationalError as exc:
        said.append(str(exc.orig))
    for message in said:
        log.warning("statistics of %s not refreshed, left to the autovacuum: %s", what, message)


@contextmanager
def transaction(conn):
    """A transaction, also on a connection kept in autocommit (where each statement commits by
    itself, in one round trip instead of BEGIN, the statement and COMMIT): for what must commit
    together. The connection is back in autocommit afterwards."""
    if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        with conn.begin():
            yield conn
        return
    conn.execution_options(isolation_level=conn.default_isolation_level)
    try:
        with conn.begin():
            yield conn
    finally:
        if not conn.invalidated:
            conn.execution_options(isolation_level="AUTOCOMMIT")


DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction it ended to break a deadlock
DEADLOCK_TRIES = 3


def retried_on_deadlock(session: Session, work: Callable[[], T]) -> T:
    """`work()` in a savepoint of the session's transaction, run again (up to DEADLOCK_TRIES
    times) when PostgreSQL ends it to break a deadlock. For an operator's rare write across many
    rows (an erase) that would otherwise fail on a lock order it cannot see: rolling back to the
    savepoint gives up the locks taken in it (not those the caller took before), so the other
    side goes on first. SQLite has one writer and no deadlocks: the work runs as it is."""
    if session.get_bind().dialect.name != "postgresql":
        return work()
    attempt = 1
    while True:
        try:
            with session.begin_nested():
                return work()
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != DEADLOCK or attempt == DEADLOCK_TRIES:
                raise
        attempt += 1
        log.warning("PostgreSQL ended a write to break a deadlock: running it again (try %d of %d)", attempt,
                    DEADLOCK_TRIES)
