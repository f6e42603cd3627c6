"""Benchmark of the staff app's campaign pages at 1,000,000 deliveries on PostgreSQL.

Builds, in a database of its own, one campaign of N deliveries (default 1,000,000: sent over
two days, a few bounced and complained, 30% opened) and 3 events per delivery on average
(INSERT … SELECT generate_series), then times through Flask's test client, signed in as an
admin, the median of --repeat requests of:
- the results page (/results/ID), and each of its service reads apart (stats, outlets, chart);
- the campaign page (/sends/ID) and its live.json (polled every 2 s while sending);
- a page of recipients, and a search by the start of an address.
The target is < 300 ms per page (issue 12 §5).

Run: .venv/bin/python bench/bench_staff_pages.py [--deliveries 1000000] [--repeat 5]
     [--pg postgresql+psycopg://postgres@127.0.0.1/postgres] [--keep]
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distribute.config import Settings  # noqa: E402
from distribute.db import make_engine, upgrade  # noqa: E402
from distribute.services import users  # noqa: E402
from distribute.services.actor import operator  # noqa: E402

PASSWORD = "bench password 1234"

BUILD = [
    """INSERT INTO releases (slug, title, body, source_format, language, contacts, notes, created_at)
       VALUES ('bench', 'A bench release', 'Body', 'markdown', 'en', '[]', '[]', now())""",
    """INSERT INTO campaigns (ref, release_id, variant, state, audience, is_test, again, track, scheduled_at,
                             started_at, created_at, compiled)
       VALUES ('bench', 1, 'journalist', 'sent', '{"segments": ["all"]}', false, false, true,
               now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
               '{"links": ["https://example.org/a", "https://example.org/b"]}')""",
    """INSERT INTO deliveries (campaign_id, ref, email, email_key, domain, name, outlet, state, attempts,
                              sent_at, last_code, last_reply, updated_at, bounce_kind, opens, human_opens,
                              first_opened_at, first_human_open_at, clicks, first_clicked_at, complained_at)
       SELECT 1, 'd' || g, 'p' || g || '@d' || (g % 500) || '.example', 'p' || g || '@d' || (g % 500) || '.example',
              'd' || (g % 500) || '.example', 'Person ' || g, 'Outlet ' || (g % 300),
              CASE WHEN g % 100 = 0 THEN 'bounced' WHEN g % 1000 = 1 THEN 'complained' ELSE 'sent' END, 1,
              now() - interval '2 days' + (g % 7200) * interval '10 seconds', 250, '250 2.0.0 Ok', now(),
              CASE WHEN g % 100 = 0 THEN 'hard' END,
              CASE WHEN g % 10 < 3 THEN 2 ELSE 0 END, CASE WHEN g % 10 < 2 THEN 1 ELSE 0 END,
              CASE WHEN g % 10 < 3 THEN now() - interval '1 day' END,
              CASE WHEN g % 10 < 2 THEN now() - interval '1 day' END,
              CASE WHEN g % 20 = 0 THEN 1 ELSE 0 END, CASE WHEN g % 20 = 0 THEN now() - interval '1 day' END,
              CASE WHEN g % 1000 = 1 THEN now() END
       FROM generate_series(1, :n) AS g""",
    """INSERT INTO events (delivery_id, campaign_id, type, source, at, data)
       SELECT (g % :n) + 1, 1, CASE WHEN g % 3 = 0 THEN 'delivered' WHEN g % 3 = 1 THEN 'opened' ELSE
              CASE WHEN g % 60 = 2 THEN 'clicked' ELSE 'opened' END END, 'bench',
              now() - interval '2 days' + (g % 17280) * interval '10 seconds',
              CASE WHEN g % 60 = 2 THEN '{"link": 0}'::json ELSE '{}'::json END
       FROM generate_series(1, 3 * :n) AS g""",
    "ANALYZE",
]


def build(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for sql in BUILD:
            started = time.perf_counter()
            conn.execute(text(sql), {"n": n} if ":n" in sql else {})
            print(f"  {sql.split()[0].lower()} {sql.split()[2] if sql.startswith('INSERT') else ''}: "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
    # The rows were made by hand: count them once, as the recount does, so the pages read counters.
    from distribute.deliveries.recount import recount

    started = time.perf_counter()
    recount(engine, [1])
    print(f"  counters (exact recount): {time.perf_counter() - started:.1f} s", flush=True)
    engine.dispose()


def timed(call, repeat: int) -> float:
    call()  # warm: the first request compiles templates and fills caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="leave the database for a second look")
    args = parser.parse_args()
    name = f"distribute_bench_pages_{secrets.token_hex(3)}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    try:
        print(f"building {args.deliveries:,} deliveries and {3 * args.deliveries:,} events in {name}")
        build(url, args.deliveries)
        run(url, args.repeat)
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, repeat: int) -> None:
    from distribute.stats import detail
    from distribute.stats.campaign import campaign_stats
    from distribute.web.staff import create_app

    settings = Settings(database_url=url, secret_key="bench-secret-key-for-distribute-pages",
                        outbox_dir=Path(tempfile.mkdtemp()), staff_url="http://127.0.0.1")
    app = create_app(settings)
    state = app.extensions["distribute_staff"]
    with state.sessions.begin() as s:
        users.add_user(s, operator(), "bench@example.org", role="admin", password=PASSWORD)
    client = app.test_client()
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").data).group(1)
    client.post("/login", data={"email": "bench@example.org", "password": PASSWORD, "csrf_token": token.decode()})

    def page(path):
        def call():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        return call

    def read(fn):
        def call():
            with state.sessions() as s:
                fn(s)
        return call

    print(f"median of {repeat} (ms):")
    rows = [
        ("results page  /results/1", page("/results/1")),
        ("  campaign_stats(detail_limit=0)", read(lambda s: campaign_stats(s, 1, detail_limit=0))),
        ("  outlets (top 20)", read(lambda s: detail.outlets(s, 1))),
        ("  time chart (days)", read(lambda s: detail.timeline(s, 1, "day"))),
        ("campaign page /sends/1", page("/sends/1")),
        ("live.json     /sends/1/live.json", page("/sends/1/live.json")),
        ("recipients    /results/1/recipients", page("/results/1/recipients")),
        ("  next page", page("/results/1/recipients?after=500000")),
        ("  search      ?q=p77777", page("/results/1/recipients?q=p77777")),
        ("overview      /results/", page("/results/")),
        ("campaign_stats(detail_limit=200)", read(lambda s: campaign_stats(s, 1, detail_limit=200))),
    ]
    for label, call in rows:
        ms = timed(call, repeat)
        mark = "" if not label.startswith(("results", "campaign", "live", "recipients", "overview")) else (
            "  ok" if ms < 300 else "  OVER 300 ms")
        print(f"  {label:<40} {ms:8.1f}{mark}", flush=True)
    state.engine.dispose()


if __name__ == "__main__":
    main()
