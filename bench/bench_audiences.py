"""Benchmark of the staff app's contact search: N contacts (default 1,000,000) on PostgreSQL,
a page of 50 by services.contacts.browse for each kind of search and filter, against the same
query with the search indexes dropped, in the same run.

Run: .venv/bin/python bench/bench_audiences.py [--contacts 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distribute.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from distribute.services import contacts  # noqa: E402
from distribute.services.actor import VIEWER, Actor  # noqa: E402

DB = "distribute_bench_audiences"
SEARCH_INDEXES = ("ix_contacts_email_prefix", "ix_contacts_name_prefix", "ix_contacts_outlet_prefix",
                  "ix_contacts_language")
CASES = {
    "first page": {},
    "page 1,000 (keyset)": {"before": None},  # filled in: the id 50,000 rows down
    "search an address": {"q": "p123456@"},
    "search a name prefix": {"q": "person 4242"},
    "search an outlet prefix": {"q": "outlet 77"},
    "kind + language": {"kind": "supporter", "language": "ar"},
    "tag": {"tag": "t17"},
    "list": {"list_name": "list 3"},
    "search + kind + tag": {"q": "outlet 7", "kind": "journalist", "tag": "t7"},
}


def build(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO contacts (email, email_key, name, kind, outlet, language, status, attributes, created_at, updated_at)
            SELECT 'p' || i || '@example.org', 'p' || i || '@example.org', 'Person ' || i,
                   CASE WHEN i % 4 = 0 THEN 'supporter' ELSE 'journalist' END, 'Outlet ' || (i % 1000),
                   CASE WHEN i % 50 = 0 THEN 'ar' ELSE 'en' END, 'active', '{{}}', now(), now()
            FROM generate_series(1, {n}) AS i"""))
        conn.execute(text("INSERT INTO contact_tags (contact_id, tag) SELECT id, 't' || (id % 100) FROM contacts"))
        conn.execute(text("INSERT INTO lists (name, created_at) SELECT 'list ' || i, now() FROM generate_series(1, 10) i"))
        conn.execute(text("INSERT INTO list_members (list_id, contact_id) SELECT 1 + id % 10, id FROM contacts WHERE id % 7 = 0"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def timed(sessions, case: dict) -> float:
    actor = Actor("bench", VIEWER)
    runs = []
    for _ in range(7):
        with sessions() as session:
            start = time.perf_counter()
            page = contacts.browse(session, actor, **case)
            runs.append(time.perf_counter() - start)
    assert page["contacts"] or case.get("q"), case
    return statistics.median(runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB}"'))
    url = make_url(args.pg).set(database=DB).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        build(url, args.contacts)
        print(f"{args.contacts:,} contacts built in {time.perf_counter() - started:.0f} s")
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with engine.connect() as conn:
            CASES["page 1,000 (keyset)"]["before"] = conn.scalar(text("SELECT max(id) - 50000 FROM contacts"))
        indexed = {name: timed(sessions, case) for name, case in CASES.items()}
        with engine.begin() as conn:
            for index in SEARCH_INDEXES:
                conn.execute(text(f"DROP INDEX {index}"))
        bare = {name: timed(sessions, case) for name, case in CASES.items()}
        print(f"{'a page of 50':28} {'indexed':>10} {'without':>10}")
        for name in CASES:
            print(f"{name:28} {indexed[name]:8.1f} ms {bare[name]:8.1f} ms")
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
