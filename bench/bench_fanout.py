"""Benchmark of fan-out with the one-copy rule: what checking "already has this release" costs.

On PostgreSQL, N contacts (default 100,000) in one segment. Three fan-outs, each one
INSERT … SELECT of N deliveries, timed in the same run:
- baseline: the first campaign of a release (nothing to check against);
- the rule: a second campaign of the same release to the same contacts, where every address
  is looked up in the first campaign's deliveries (all of them end `skipped`);
- the rule lifted (`--again`): the same second campaign without the lookup.
Medians of --repeat runs (default 3), each on fresh campaigns.

Run: .venv/bin/python bench/bench_fanout.py [--contacts 100000] [--pg postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distribute import states  # noqa: E402
from distribute.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from distribute.sending.fanout import insert_deliveries  # noqa: E402
from distribute.models import Campaign, Contact, Delivery, Release  # noqa: E402
from distribute.audience.segments import add_segment  # noqa: E402

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def campaign(sessions, release_id: int, *, again: bool) -> int:
    with sessions() as s, s.begin():
        c = Campaign(ref=secrets.token_hex(6), release_id=release_id, variant="journalist", state=states.SENDING,
                     audience={"segments": ["press"], "lists": [], "test": []}, scheduled_at=NOW, started_at=NOW,
                     again=again)
        s.add(c)
        s.flush()
        return c.id


def fan_out(sessions, campaign_id: int) -> tuple[float, dict[str, int]]:
    """Seconds for one fan-out (committed), and the deliveries it wrote by state."""
    with sessions() as s, s.begin():
        c = s.get(Campaign, campaign_id)
        start = time.perf_counter()
        insert_deliveries(s, c)
    seconds = time.perf_counter() - start
    with sessions() as s:
        return seconds, dict(s.execute(select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id)
                                       .group_by(Delivery.state)).all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL URL whose server may hold a scratch database")
    args = parser.parse_args()
    name = f"distribute_bench_fanout_{secrets.token_hex(3)}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(args.pg).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as s, s.begin():
            s.execute(insert(Contact), [
                {"email": f"r{i}@outlet{i % 97}.example", "email_key": f"r{i}@outlet{i % 97}.example",
                 "kind": "journalist", "attributes": {}} for i in range(args.contacts)])
            add_segment(s, "press", "kind = journalist")
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        figures: dict[str, list[float]] = {"first campaign (baseline)": [], "second, one copy per address": [],
                                           "second, --again": []}
        for _ in range(args.repeat):
            with sessions() as s, s.begin():
                release = Release(slug=f"r-{secrets.token_hex(3)}", title="T", body="B\n", source_format="text",
                                  language="en")
                s.add(release)
                s.flush()
                release_id = release.id
            seconds, rows = fan_out(sessions, campaign(sessions, release_id, again=False))
            assert rows == {"queued": args.contacts}, rows
            figures["first campaign (baseline)"].append(seconds)
            seconds, rows = fan_out(sessions, campaign(sessions, release_id, again=False))
            assert rows == {"skipped": args.contacts}, rows
            figures["second, one copy per address"].append(seconds)
            seconds, rows = fan_out(sessions, campaign(sessions, release_id, again=True))
            assert rows == {"queued": args.contacts}, rows
            figures["second, --again"].append(seconds)
        print(f"fan-out of {args.contacts:,} contacts on PostgreSQL (median of {args.repeat})")
        base = statistics.median(figures["first campaign (baseline)"])
        for label, samples in figures.items():
            median = statistics.median(samples)
            print(f"  {label:32} {median:6.2f} s  {args.contacts / median:9,.0f} rows/s  {median / base:4.2f} x baseline")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
