"""How fast a large campaign's stats come back, against the old aggregate queries in the same run.

Builds, in a PostgreSQL database of its own (dropped at the end), one campaign of 1,000,000
deliveries over a few thousand domains (a few large ones, a long tail) and 3,000,000 events
(opens, clicks on five links, bounces, deferrals), with INSERT … SELECT generate_series; counts it
with the exact recount (timed: what beat does); then prints:
- the old way: the aggregates over the deliveries and the events that `campaign_stats` ran
  before the counters (kept below as the baseline), median of several calls;
- `campaign_stats` now, median of several calls, and that both give the same answer;
- `distribute stats ID --json` as a whole process (start-up included), and `distribute --help`:
  wall time and the process's CPU time (which says more on a shared machine), medians, each
  started from compiled bytecode as an installed command is;
- in the same rounds, the floors under that command: a process that only reads the counters in
  one query, through SQLAlchemy Core, and through psycopg alone.
`--against REF` adds both as they were at git revision REF (a temporary worktree), measured in
the same run, the processes in turn with this tree's, and checks that both print the same JSON.

Run: .venv/bin/python bench/bench_stats.py [--deliveries 1000000] [--events 3000000] [--against REF] [--pg ADMIN_URL]
Building takes minutes: `--keep` keeps the database and prints its name, `--reuse NAME` measures
on it again without building (and keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import case, create_engine, distinct, func, or_, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distribute import states  # noqa: E402
from distribute.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from distribute.deliveries.recount import recount  # noqa: E402
from distribute.models import Campaign, Delivery, Event, Release  # noqa: E402
from distribute.stats.campaign import campaign_stats  # noqa: E402

BIN = Path(sys.executable).parent
LINKS = ["https://example.org/report", "https://example.org/data.csv", "https://example.org/photos",
         "https://example.org/contact", "https://example.org/donate"]


# --- the baseline: campaign_stats as it was before the counters ------------------------------------

def old_campaign_stats(session, campaign_id: int, *, detail_limit: int = 200) -> dict:
    campaign = session.get(Campaign, campaign_id)
    release = session.get(Release, campaign.release_id)
    counts = dict.fromkeys(states.DELIVERY_STATES, 0) | dict(session.execute(
        select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id).group_by(Delivery.state)).all())
    first, last = session.execute(
        select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(Delivery.campaign_id == campaign_id)).one()
    rate = None
    if first and last and last > first:
        rate = round((counts[states.DELIVERED] + counts[states.COMPLAINED]) / (last - first).total_seconds(), 1)
    domains: dict[str, dict] = {}
    for domain, state, n in session.execute(
            select(Delivery.domain, Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id)
            .group_by(Delivery.domain, Delivery.state)).all():
        entry = domains.setdefault(domain, {"domain": domain, "total": 0})
        entry[state] = n
        entry["total"] += n
    errors = session.execute(
        select(Delivery.email, Delivery.state, Delivery.last_code, Delivery.last_reply, Delivery.updated_at)
        .where(Delivery.campaign_id == campaign_id,
               Delivery.state.in_((states.DEFERRED, states.BOUNCED, states.DELIVERY_FAILED, states.UNKNOWN)))
        .order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(10)).all()
    d = Delivery
    row = session.execute(select(
        func.count(d.first_opened_at), func.count(d.first_human_open_at),
        func.coalesce(func.sum(d.opens), 0), func.coalesce(func.sum(d.human_opens), 0),
        func.count(d.first_clicked_at), func.coalesce(func.sum(d.clicks), 0),
        func.count(d.unsubscribed_at), func.count(d.complained_at),
        *(func.count(case((d.bounce_kind == kind, 1))) for kind in ("hard", "soft", "block")),
    ).where(d.campaign_id == campaign_id)).one()
    opened, human, opens, human_opens, clicked, clicks, unsubscribed, complained, hard, soft, block = (int(v) for v in row)
    number = Event.data["link"].as_integer()
    counted = {n: (c, p) for n, c, p in session.execute(
        select(number, func.count(), func.count(distinct(Event.delivery_id)))
        .where(Event.campaign_id == campaign_id, Event.type == "clicked").group_by(number))}
    interesting = or_(d.opens > 0, d.clicks > 0, d.unsubscribed_at.is_not(None), d.complained_at.is_not(None),
                      d.state.in_((states.BOUNCED, states.COMPLAINED, states.DELIVERY_FAILED, states.UNKNOWN)))
    rows = session.scalars(select(d).where(d.campaign_id == campaign_id, interesting).order_by(d.id)
                           .limit(detail_limit + 1)).all()
    events: dict[int, list] = {}
    for e in session.scalars(select(Event).where(Event.delivery_id.in_([r.id for r in rows[:detail_limit]]))
                             .order_by(Event.at, Event.id)):
        events.setdefault(e.delivery_id, []).append({"type": e.type, "source": e.source, "at": e.at.isoformat(),
                                                     "data": e.data})
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {
        "campaign": campaign.id, "release": release.slug, "variant": campaign.variant, "state": campaign.state,
        "reason": campaign.state_reason, "waiting": None, "test": campaign.is_test,
        "recipients": sum(counts.values()), "counts": counts,
        "first_sent_at": iso(first), "last_sent_at": iso(last), "send_rate_per_second": rate,
        "domains": sorted(domains.values(), key=lambda x: (-x["total"], x["domain"]))[:20],
        "last_errors": [{"email": e.email, "state": e.state, "code": e.last_code, "reply": e.last_reply,
                         "at": e.updated_at.isoformat()} for e in errors],
        "tracked": campaign.track,
        "feedback": {"opened": opened, "opened_human": human, "opened_machine_only": opened - human,
                     "opens": opens, "opens_human": human_opens, "clicked": clicked, "clicks": clicks,
                     "unsubscribed": unsubscribed, "complained": complained,
                     "bounced": {"hard": hard, "soft": soft, "block": block}},
        "links": [{"url": url, "clicks": counted.get(n, (0, 0))[0], "recipients": counted.get(n, (0, 0))[1]}
                  for n, url in enumerate(campaign.compiled["links"])],
        "recipients_detail": [
            {"email": r.email, "state": r.state, "bounce": r.bounce_kind, "reply": r.last_reply, "opens": r.opens,
             "human_opens": r.human_opens, "first_opened_at": iso(r.first_opened_at), "clicks": r.clicks,
             "unsubscribed_at": iso(r.unsubscribed_at), "complained_at": iso(r.complained_at),
             "events": events.get(r.id, [])} for r in rows[:detail_limit]],
        "recipients_detail_truncated": len(rows) > detail_limit,
    }


# --- the data ---------------------------------------------------------------------------------------

# Per delivery i: a domain from a long tail (power(random, 4) puts a few domains far ahead), a state
# (mostly sent), and engagement consistent with the events made below.
DELIVERIES = """
INSERT INTO deliveries (campaign_id, ref, email, email_key, domain, state, attempts, updated_at, sent_at,
                        last_code, last_reply, bounce_kind, opens, human_opens, clicks,
                        first_opened_at, first_human_open_at, first_clicked_at, unsubscribed_at, complained_at)
SELECT 1, substr(md5(i::text), 1, 24), 'r' || i || '@' || dom, 'r' || i || '@' || dom, dom, st, 1,
       t0 + (i || ' milliseconds')::interval,
       CASE WHEN st IN ('sent', 'complained', 'bounced') THEN t0 + (i || ' milliseconds')::interval END,
       CASE st WHEN 'sent' THEN 250 WHEN 'bounced' THEN 550 WHEN 'deferred' THEN 451 WHEN 'failed' THEN 451 END,
       CASE WHEN st IN ('bounced', 'deferred', 'failed') THEN 'mailbox unavailable' END,
       CASE WHEN st = 'bounced' THEN (ARRAY['hard', 'soft', 'block'])[1 + i % 3] END,
       CASE WHEN i % 3 = 0 THEN 3 ELSE 0 END, CASE WHEN i % 3 = 0 THEN 2 ELSE 0 END,
       CASE WHEN i % 5 = 0 THEN 2 ELSE 0 END,
       CASE WHEN i % 3 = 0 THEN t0 + interval '1 hour' END, CASE WHEN i % 3 = 0 THEN t0 + interval '2 hours' END,
       CASE WHEN i % 5 = 0 THEN t0 + interval '3 hours' END,
       CASE WHEN i % 400 = 0 THEN t0 + interval '4 hours' END,
       CASE WHEN st = 'complained' THEN t0 + interval '5 hours' END
FROM (SELECT i, timestamptz '2025-01-01 09:00:00+00' AS t0,
             'outlet' || floor(power(random(), 4) * :domains)::int || '.example' AS dom,
             CASE WHEN i % 100 < 90 THEN 'sent' WHEN i % 100 < 95 THEN 'bounced' WHEN i % 100 < 97 THEN 'deferred'
                  WHEN i % 100 < 98 THEN 'failed' WHEN i % 100 < 99 THEN 'suppressed'
                  WHEN i % 1000 < 995 THEN 'unknown' ELSE 'complained' END AS st
      FROM generate_series(1, :n) AS i) AS g
"""
# Opens: 3 per delivery i % 3 = 0 (2 by people); clicks: 2 per delivery i % 5 = 0 on links i % 5
# and (i + 1) % 5; the rest of the events: delays and bounces, as the sender records them.
EVENTS = """
INSERT INTO events (delivery_id, campaign_id, type, source, at, data)
SELECT id, 1, type, source, timestamptz '2025-01-01 10:00:00+00' + (k || ' seconds')::interval, data::json
FROM (
  SELECT d.id, k, 'opened' AS type, 'pixel' AS source,
         CASE WHEN k = 0 THEN '{"machine": "proxy"}' ELSE '{"machine": null}' END AS data
  FROM deliveries d, generate_series(0, 2) AS k WHERE d.id % 3 = 0
  UNION ALL
  SELECT d.id, k, 'clicked', 'link', '{"url": "u", "link": ' || ((d.id + k) % 5) || '}'
  FROM deliveries d, generate_series(0, 1) AS k WHERE d.id % 5 = 0
  UNION ALL
  SELECT d.id, k, 'deferred', 'smtp', '{"code": 451}'
  FROM deliveries d, generate_series(0, 5) AS k WHERE d.id % 5 <> 0 AND d.id % 3 <> 0
) AS e
LIMIT :events
"""


def build(engine, deliveries: int, events: int, domains: int) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO releases (slug, title, language, body, contacts, notes, source_format, created_at) "
                          "VALUES ('big', 'Big', 'en', 'x', '[]', '[]', 'markdown', now())"))
        conn.execute(text("INSERT INTO campaigns (ref, release_id, variant, state, audience, is_test, again, track, "
                          "compiled, created_at) VALUES ('bench', 1, 'journalist', 'sent', '{}', false, false, true, "
                          "CAST(:compiled AS json), now())"), {"compiled": json.dumps({"links": LINKS})})
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(DELIVERIES), {"n": deliveries, "domains": domains})
    print(f"  built {deliveries:,} deliveries in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(EVENTS), {"events": events})
        made = conn.scalar(text("SELECT count(*) FROM events"))
    print(f"  built {made:,} events in {time.perf_counter() - t:.0f} s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


# campaign_stats of another revision, timed in a process of its own (its modules have our names).
AT_REF = """
import json, statistics, sys, time
from distribute.db import make_engine, make_sessionmaker
from distribute.stats.campaign import campaign_stats
sessions, times = make_sessionmaker(make_engine(sys.argv[1])), []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    with sessions() as s:
        answer = campaign_stats(s, 1)
    times.append(time.perf_counter() - t)
print(json.dumps({"median": statistics.median(times), "answer": answer}, default=str))
"""


# The floors under `distribute stats --json`: a process that does nothing but read the campaign's
# counters in one query, through SQLAlchemy (the project's fixed database layer: Core only, no
# ORM, no settings, no CLI), and through the driver alone.
COUNTERS_SQL = "SELECT name, sum(value) FROM campaign_counters WHERE campaign_id = 1 GROUP BY name"
FLOOR_SQLALCHEMY = f"""
import sys, sqlalchemy
with sqlalchemy.create_engine(sys.argv[1]).connect() as conn:
    print(dict(conn.exec_driver_sql({COUNTERS_SQL!r}).all()))
"""
FLOOR_PSYCOPG = f"""
import sys, psycopg
with psycopg.connect(sys.argv[1]) as conn:
    print(dict(conn.execute({COUNTERS_SQL!r}).fetchall()))
"""


def old_tree(ref: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="distribute-bench-")) / "tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref], check=True,
                   capture_output=True)
    return path


def run_process(command: list[str], env: dict) -> tuple[float, float, bytes]:
    """(wall, CPU time of the process, its output): CPU time says more than wall time on a shared machine."""
    t = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    assert status == 0, command
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime, output


def measure_calls(engine, url: str, args, tree: Path | None) -> None:
    sessions = make_sessionmaker(engine)

    def call(function):
        with sessions() as s:
            return function(s, 1)

    old_time, old = timed(lambda: call(old_campaign_stats), args.repeat)
    new_time, new = timed(lambda: call(campaign_stats), args.repeat)
    print(f"  old aggregates   : {old_time * 1000:8.1f} ms (median of {args.repeat})")
    if tree is not None:
        done = subprocess.run([sys.executable, "-c", AT_REF, url, str(args.repeat)], cwd=tree, check=True,
                              env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
        at_ref = json.loads(done.stdout)
        same = at_ref["answer"] == json.loads(json.dumps(new, default=str))
        print(f"  campaign_stats at {args.against}: {at_ref['median'] * 1000:6.1f} ms (median of {args.repeat}), "
              f"{'the same answer' if same else 'A DIFFERENT ANSWER'}")
    print(f"  campaign_stats   : {new_time * 1000:8.1f} ms (median of {args.repeat}; goal < 50 ms), "
          f"{'the same answer' if old == new else 'A DIFFERENT ANSWER'}")
    if old != new:
        for key in old:
            if old[key] != new.get(key):
                print(f"    {key}: old {str(old[key])[:200]} / new {str(new.get(key))[:200]}")


def measure_processes(url: str, args, tree: Path | None) -> None:
    """`distribute stats 1 --json` and `distribute --help`, of this tree and of --against, in turn,
    each started from its modules' bytecode as an installed command is (`pip install .` compiles
    them; an editable checkout under PYTHONDONTWRITEBYTECODE=1 would compile each one at every
    start: about 150 ms more here)."""
    for source in (REPO, tree):
        if source is not None:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(source / "distribute")], check=True,
                           stdout=subprocess.DEVNULL)
    env = {**os.environ, "DISTRIBUTE_DATABASE_URL": url, "DISTRIBUTE_SECRET_KEY": "bench-" + "k" * 30,
           "DISTRIBUTE_BASE_URL": "https://press.example.org"}
    env.pop("DISTRIBUTE_BROKER_URL", None)
    trees = {"": env} | ({f" at {args.against}": {**env, "PYTHONPATH": str(tree)}} if tree is not None else {})
    floors = {"floor: SQLAlchemy Core, one query": [sys.executable, "-c", FLOOR_SQLALCHEMY, url],
              "floor: psycopg alone, one query": [sys.executable, "-c", FLOOR_PSYCOPG,
                                                  make_url(url).set(drivername="postgresql").render_as_string(False)]}
    runs: dict[str, list] = {}
    for _ in range(args.repeat):
        for suffix, tree_env in trees.items():
            for what, command in (("`distribute stats 1 --json`", ["stats", "1", "--json"]),
                                  ("`distribute --help`", ["--help"])):
                runs.setdefault(what + suffix, []).append(run_process([str(BIN / "distribute"), *command], tree_env))
        for what, command in floors.items():
            runs.setdefault(what, []).append(run_process(command, env))
    for label, measured in runs.items():
        wall, cpu = (statistics.median(m[i] for m in measured) for i in (0, 1))
        goal = "" if label in floors else "; goal < 300 ms"
        print(f"  {label + ('' if label in floors else ', whole process'):48}: {wall * 1000:5.0f} ms, "
              f"CPU {cpu * 1000:4.0f} ms (median of {args.repeat}{goal})")
    outputs = {label: measured[-1][2] for label, measured in runs.items() if label.startswith("`distribute stats")}
    if len(set(outputs.values())) > 1:
        print("  THE PROCESSES PRINT DIFFERENT JSON")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--domains", type=int, default=5_000, help="domains in the long tail")
    parser.add_argument("--repeat", type=int, default=7, help="calls of each, the median printed")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--reuse", metavar="NAME", help="measure on a database kept by --keep, without building it")
    parser.add_argument("--against", metavar="REF", help="also measure the stats at this git revision")
    args = parser.parse_args()
    args.keep = args.keep or bool(args.reuse)
    name = args.reuse or f"distribute_bench_stats_{secrets.token_hex(3)}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    tree = old_tree(args.against) if args.against else None
    try:
        if args.reuse:
            with engine.connect() as conn:
                made = [conn.scalar(text(f"SELECT count(*) FROM {table}")) for table in ("deliveries", "events")]
            print(f"distribute stats benchmark on {name}: {made[0]:,} deliveries and {made[1]:,} events in one "
                  f"campaign, PostgreSQL, {os.cpu_count()} cores", flush=True)
        else:
            print(f"distribute stats benchmark: {args.deliveries:,} deliveries and {args.events:,} events in one "
                  f"campaign, PostgreSQL, {os.cpu_count()} cores", flush=True)
            build(engine, args.deliveries, args.events, args.domains)
            t = time.perf_counter()
            recount(engine, [1])
            print(f"  exact recount (what beat does, and migration 0008 once): {time.perf_counter() - t:.2f} s")
            # The recount has just written every counter row: statistics as autovacuum would soon
            # leave them (measured without, campaign_stats took twice as long on the fresh rows).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        print(f"  load average {os.getloadavg()[0]:.2f}", flush=True)
        measure_calls(engine, url, args, tree)
        measure_processes(url, args, tree)
        print(f"  load average {os.getloadavg()[0]:.2f}")
    finally:
        engine.dispose()
        if tree is not None:
            removed = subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                                     capture_output=True, text=True)
            if removed.returncode:
                print(f"  the worktree {tree} is left: {removed.stderr.strip()}")
        if args.keep:
            print(f"  kept: {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
