import os
import stat

from sqlalchemy import inspect, text

from distribute.db import make_engine, upgrade


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
