"""Resolving an audience on PostgreSQL right after a bulk write, before any statistics exist."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from conftest import NoBroker, new_pg_database
from distribute.audience.segments import add_segment
from distribute.db import make_engine, make_sessionmaker
from distribute.models import Contact, Release
from distribute.sending import campaigns as ops
from distribute.sending.fanout import start_campaign
from distribute.config import Settings

N = 4000  # contacts, and deliveries of the first campaign


@pytest.fixture
def unanalysed(monkeypatch):
    """A database of its own (a fresh one has no statistics at all, as one just installed, or a
    table the autovacuum has not yet come to after an import), with N journalists, a release and
    a first campaign of it fanned out to them. The fan-outs refresh no statistics here, as when
    their refresh could not have the table in time (distribute.db.refresh_statistics)."""
    from distribute.sending import fanout

    monkeypatch.setattr(fanout, "refresh_statistics", lambda *args: None)
    with new_pg_database("distribute_fresh") as url:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:  # no statistics until the test is over
                conn.execute(text("ALTER TABLE contacts SET (autovacuum_enabled = off)"))
                conn.execute(text("ALTER TABLE deliveries SET (autovacuum_enabled = off)"))
            sessions = make_sessionmaker(engine)
            with sessions.begin() as s:
                s.execute(insert(Contact), [{"email": f"r{i}@outlet{i % 300}.example", "kind": "journalist",
                                             "email_key": f"r{i}@outlet{i % 300}.example", "attributes": {}}
                                            for i in range(N)])
                add_segment(s, "press", "kind = journalist")
                s.add(Release(slug="r", title="T", body="B\n", source_format="markdown", language="en",
                              contacts=[{"email": "press@example.org"}], cta_label="Act", cta_url="https://example.org/act"))
            with sessions.begin() as s:
                first = ops.create_campaign(s, s.scalar(select(Release)), targets=["press"], variant="journalist",
                                            zone=ZoneInfo("UTC")).id
            settings = Settings(database_url=url, secret_key="test-secret-key-for-distribute-tests",
                                base_url="https://press.example.org")
            start_campaign(sessions, settings, NoBroker(), first)
            with engine.begin() as conn:  # every statement from here on, on new connections
                conn.execute(text(f"ALTER DATABASE \"{make_url(url).database}\" SET statement_timeout = '1s'"))
            engine.dispose()
            yield sessions, settings
        finally:
            engine.dispose()


def test_a_second_campaign_of_a_release_is_checked_against_the_first_as_sets(unanalysed):
    """Who already has the release, counted for the send and written by its fan-out: with no
    statistics, PostgreSQL guessed one contact and a few deliveries, and joined them by comparing
    every contact with every earlier delivery (16,000,000 comparisons here, 2.5 s or more; hours
    at 100,000). As sets (hashed or sorted) each takes milliseconds: every statement here has 1 s."""
    sessions, settings = unanalysed
    with sessions.begin() as s:
        s.execute(insert(Contact), [{"email": f"new{i}@outlet.example", "email_key": f"new{i}@outlet.example",
                                     "kind": "journalist", "attributes": {}} for i in range(100)])
    with sessions.begin() as s:
        assert not s.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename IN ('contacts', 'deliveries')"))
        release = s.scalar(select(Release))
        counts = ops.audience_counts(s, release, ops.resolve_targets(s, ["press"]))
        assert (counts["recipients"], counts["already_have"]) == (N + 100, N)
        second = ops.create_campaign(s, release, targets=["press"], variant="supporter", zone=ZoneInfo("UTC")).id
    start_campaign(sessions, settings, NoBroker(), second)
    with sessions() as s:
        assert ops.delivery_counts(s, second) == {"skipped": N, "queued": 100}
