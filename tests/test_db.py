import datetime as dt
import os
import secrets
import stat

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from distribute.db import alembic_config, make_engine, upgrade
from distribute.models import Base
from distribute.models import UTCDateTime

from conftest import PG_ADMIN_URL


def test_migrations_create_every_table_and_are_idempotent(db):
    upgrade(db.engine)  # a second run is a no-op
    tables = set(inspect(db.engine).get_table_names())
    assert {"releases", "contacts", "contact_tags", "lists", "list_members", "segments", "suppressions"} <= tables
    assert "alembic_version" in tables


def test_init_command(run_cli):
    result = run_cli("init")
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output


def test_the_sqlite_file_and_its_wal_and_shm_are_private(tmp_path):
    """The embedded database holds addresses and tracking data: 0600 from its first byte, even
    under a umask that would make it world-readable, and so are the files SQLite adds beside it."""
    previous = os.umask(0o022)
    try:
        path = tmp_path / "distribute.db"
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:  # a write, in WAL mode: the -wal and -shm files exist now
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(previous)
    assert files == {"distribute.db": 0o600, "distribute.db-wal": 0o600, "distribute.db-shm": 0o600}


def test_an_in_memory_sqlite_database_makes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    assert make_engine("sqlite:///:memory:") and list(tmp_path.iterdir()) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    """An engine on a database with no schema yet (a PostgreSQL one made for this test)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    name = f"distribute_migrate_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migration_0006_moves_the_media_contact_into_the_contacts(empty_engine):
    config = alembic_config(empty_engine)
    command.upgrade(config, "0005")
    releases = sa.table("releases", *(sa.column(c) for c in ("id", "slug", "title", "language", "body", "source_format",
                                                             "content_hash")),
                        sa.column("created_at", UTCDateTime()), sa.column("media_contact", sa.JSON))
    with empty_engine.begin() as conn:
        conn.execute(sa.insert(releases), [
            {"id": 1, "slug": "a", "title": "A", "language": "en", "body": "Body\n", "source_format": "text",
             "content_hash": "x" * 64, "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
             "media_contact": {"name": "Nadia Benali", "title": "Head of Communications", "email": "press@example.org",
                               "phone": "+41 22 555 01 23"}},
            {"id": 2, "slug": "b", "title": "B", "language": "en", "body": "Body\n", "source_format": "text",
             "content_hash": "y" * 64, "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "media_contact": None},
        ])
    upgrade(empty_engine)
    after = sa.table("releases", sa.column("id"), sa.column("contacts", sa.JSON), sa.column("notes", sa.JSON),
                     sa.column("content_hash"))
    with empty_engine.connect() as conn:
        rows = conn.execute(sa.select(after).order_by(after.c.id)).all()
    assert [tuple(row) for row in rows] == [
        (1, [{"name": "Nadia Benali", "title": "Head of Communications", "organisation": None,
              "email": "press@example.org", "phones": ["+41 22 555 01 23"]}], [], None),
        (2, [], [], None),
    ]
    command.downgrade(config, "0005")
    with empty_engine.connect() as conn:
        back = conn.execute(sa.select(releases.c.media_contact).order_by(releases.c.id)).scalars().all()
    assert back == [{"name": "Nadia Benali", "title": "Head of Communications", "email": "press@example.org",
                     "phone": "+41 22 555 01 23"}, None]


def test_the_schema_check_finds_the_heads_alembic_finds(db):
    from alembic.script import ScriptDirectory

    from distribute.db import alembic_config, migration_heads, schema_is_current

    assert migration_heads() == set(ScriptDirectory.from_config(alembic_config(db.engine)).get_heads())
    assert schema_is_current(db.engine)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    assert not schema_is_current(db.engine)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": next(iter(migration_heads()))})


def test_the_migrations_build_exactly_the_models(db):
    """A model changed without a migration (or the other way round) fails here, on both backends."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
