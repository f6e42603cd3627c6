"""Engine, sessions and schema upgrades (Alembic)."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

from typing import Any

from sqlalchemy import Engine, bindparam, cast, create_engine, event, func
from sqlalchemy.engine import make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, *, connect_timeout: float | None = None) -> Engine:
    """An engine for the URL; `connect_timeout` bounds how long an unreachable server may take
    to say so (a startup check), otherwise the driver's default applies."""
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
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


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
    cache key) costs more CPU than the database spends on it. Each parameter still goes through
    its type's conversion, as SQLAlchemy would do."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple[str, dict, dict]] = {}

    def execute(self, conn, params: dict):
        name = conn.dialect.name
        compiled = self._compiled.get(name)
        if compiled is None:
            c = self.statement.compile(dialect=conn.dialect)
            compiled = self._compiled[name] = (c.string, dict(c.params), dict(c._bind_processors))
        sql, defaults, convert = compiled
        values = defaults | params
        for key, process in convert.items():
            values[key] = process(values[key])
        return conn.exec_driver_sql(sql, values)


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
