"""End-to-end benchmark of the delivery pipeline, against two baselines measured in the same run.

From `distribute send` to the last message accepted by a local SMTP server (aiosmtpd on
127.0.0.1), with PostgreSQL, a private redis-server and 2 `celery -A worker worker` processes.
Printed beside it:
- the ceiling: a bare smtplib loop over one connection to the same server;
- the naive way: Jinja2 + premailer + smtplib for every recipient.

Run: .venv/bin/python bench/bench_pipeline.py [--recipients 20000 | --large] [--pg ADMIN_URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_foundation import naive_message  # noqa: E402
from distribute.sending import campaigns as ops  # noqa: E402
from distribute.sending.tasks import create_celery  # noqa: E402
from distribute.config import Settings  # noqa: E402
from distribute.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from distribute.sending.message import MessageBuilder, Recipient  # noqa: E402
from distribute.models import Contact, Release  # noqa: E402
from distribute.releases.store import read_release, store_release  # noqa: E402
from distribute.releases.rendering import compile_release  # noqa: E402
from distribute.audience.segments import add_segment  # noqa: E402
from sink import Sink  # noqa: E402

CELERY = str(Path(sys.executable).with_name("celery"))


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    total = 0
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]))
        except FileNotFoundError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except FileNotFoundError:
            pass
    return total


def bare_smtp(server: Sink, message: bytes, n: int) -> float:
    with smtplib.SMTP("127.0.0.1", server.port) as smtp:
        start = time.perf_counter()
        for i in range(n):
            smtp.sendmail("press@example.org", [f"ceiling{i}@bench.example"], message)
        return n / (time.perf_counter() - start)


def naive(server: Sink, release: Release, settings: Settings, n: int) -> float:
    with smtplib.SMTP("127.0.0.1", server.port) as smtp:
        start = time.perf_counter()
        for i in range(n):
            recipient = Recipient(f"naive{i}@bench.example", f"Reporter {i}", "Outlet")
            smtp.sendmail("press@example.org", [recipient.email], naive_message(release, recipient))
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--large", action="store_true", help="100,000 recipients")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", default="threads", help="Celery pool of each worker process (threads: I/O-bound sends overlap)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    n = 100_000 if args.large else args.recipients

    name = f"distribute_bench_{secrets.token_hex(4)}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        redis_port = s.getsockname()[1]
    redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    server = Sink()
    workers: list[subprocess.Popen] = []
    try:
        time.sleep(0.5)
        env = {**os.environ, "DISTRIBUTE_DATABASE_URL": db_url, "DISTRIBUTE_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
               "DISTRIBUTE_SMTP_URL": server.url, "DISTRIBUTE_SECRET_KEY": "bench-secret-key-for-distribute-benchmarks", "DISTRIBUTE_BASE_URL": "https://press.example.org"}
        settings = Settings(database_url=db_url, broker_url=env["DISTRIBUTE_BROKER_URL"], smtp_url=server.url,
                            secret_key="bench-secret-key-for-distribute-benchmarks", base_url="https://press.example.org")
        engine = make_engine(db_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as s, s.begin():
            for start in range(0, n, 10_000):
                s.execute(insert(Contact), [
                    {"email": f"reporter{i}@outlet{i % 500}.example", "email_key": f"reporter{i}@outlet{i % 500}.example",
                     "name": f"Reporter Número {i}", "kind": "journalist", "outlet": f"Outlet {i % 500}", "attributes": {}}
                    for i in range(start, min(n, start + 10_000))
                ])
            add_segment(s, "press", "kind = journalist")
            release = store_release(s, read_release(REPO / "samples" / "release.md", zone=ZoneInfo("UTC")))
        for i in range(args.workers):
            workers.append(subprocess.Popen(
                [CELERY, "-A", "worker", "worker", f"--pool={args.pool}", f"--concurrency={args.concurrency}",
                 "--loglevel=WARNING", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-n", f"bench{i}@%h"],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        time.sleep(4)  # let the workers connect before the clock starts

        print(f"distribute pipeline benchmark: {n:,} recipients, {args.workers} worker processes "
          f"({args.pool} pool, concurrency {args.concurrency}), "
              f"PostgreSQL + Redis + an aiosmtpd sink on 127.0.0.1, {os.cpu_count()} cores")
        celery = create_celery(settings)
        cpu_before = [cpu_seconds(w.pid) for w in workers] + [cpu_seconds(server.proc.pid)]
        start = time.perf_counter()
        with sessions() as s, s.begin():
            campaign_id = ops.create_campaign(s, s.get(Release, release.id), targets=["press"], variant="journalist",
                                              zone=ZoneInfo("UTC")).id
        celery.runtime().broker.start(campaign_id)
        server.wait_for(n, timeout=3600)
        seconds = time.perf_counter() - start
        ours = n / seconds
        memory = [peak_rss_mb(w.pid) for w in workers]
        cpu = [after - before for after, before in zip([cpu_seconds(w.pid) for w in workers] + [cpu_seconds(server.proc.pid)], cpu_before)]
        time.sleep(1)
        assert server.accepted.value == n and server.duplicates.value == 0, "a recipient was missed or mailed twice"
        print(f"  distribute   : {ours:8,.0f} messages/s ({seconds:.1f} s from send to the last 250), "
              f"each recipient exactly once")
        print(f"  CPU          : workers {sum(cpu[:-1]) / n * 1000:.2f} ms per message, SMTP sink {cpu[-1] / n * 1000:.2f} ms "
              f"per message, over {seconds:.0f} s on {os.cpu_count()} cores")
        print(f"  peak memory  : workers {', '.join(f'{m:.0f} MB' for m in memory)}; "
              f"this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

        with sessions() as s:
            r = s.get(Release, release.id)
            message = MessageBuilder(compile_release(r, "journalist", settings), settings).build(
                Recipient("x@bench.example", "X"), "ref")
            ceiling = bare_smtp(server, message, min(n, 5000))
            slow = naive(server, r, settings, 300)
        print(f"  bare smtplib : {ceiling:8,.0f} messages/s (one connection, a prebuilt message: the ceiling)")
        print(f"  naive loop   : {slow:8,.0f} messages/s (Jinja2 + premailer + smtplib per recipient)")
        print(f"  => {ours / ceiling:.0%} of the ceiling (goal 60%), {ours / slow:.1f}x the naive loop (goal 5x)")
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(timeout=60)
        server.stop()
        redis.kill()
        try:
            engine.dispose()
        except NameError:
            pass
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
