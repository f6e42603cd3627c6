"""Shared fixtures: a fresh database on SQLite and on the machine's real PostgreSQL.

Tests that take `db` run twice, once per backend. PostgreSQL gets a database of its own,
named for this run, dropped at the end: the server is shared, so nothing else is touched.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from distribute.config import Settings
from distribute.db import make_engine, make_sessionmaker, upgrade
from distribute.models import Base

# Fixtures the test folders share: the real SMTP server for tests (accepts, defers, refuses,
# drops) as `smtp_server`, a sample release, and the webhook providers' keys.
pytest_plugins = ["smtp_server", "release_helpers", "webhook_helpers"]

PG_ADMIN_URL = os.environ.get("DISTRIBUTE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
# ../shared beside the project (CI has it; a fresh clone may not): only test_shared_fixtures reads it.
FIXTURES = REPO.parent / "shared" / "fixtures"


class NoBroker:
    """A broker that takes batches and sends nothing: for tests that fan out or sweep but do not
    run workers."""

    def enqueue(self, campaign_id, ids):
        pass


@contextmanager
def new_pg_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of our own with the schema, its URL; dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url():
    with new_pg_database("distribute_test") as url:
        yield url


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def backend(self) -> str:
        return self.engine.dialect.name


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Database:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        upgrade(engine)
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield Database(url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture
def settings(db, tmp_path) -> Settings:
    return Settings(
        database_url=db.url,
        secret_key="test-secret-key-for-distribute-tests",
        outbox_dir=tmp_path / "outbox",
        base_url="https://press.example.org",
    )


@pytest.fixture
def run_cli(db, tmp_path, monkeypatch):
    """Run `distribute …` in-process against the test database; returns click's Result."""
    from distribute.cli import cli

    monkeypatch.chdir(tmp_path)
    env = {
        "DISTRIBUTE_DATABASE_URL": db.url,
        "DISTRIBUTE_SECRET_KEY": "test-secret-key-for-distribute-tests",
        "DISTRIBUTE_BASE_URL": "https://press.example.org",
    }

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, [str(a) for a in args], env=env, input=input, catch_exceptions=False)

    return run
