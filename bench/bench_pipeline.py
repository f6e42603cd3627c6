"""End-to-end benchmark of the delivery pipeline, against two baselines of the same shape, in one run.

From `distribute send` to the last message accepted by a local SMTP server (aiosmtpd on
127.0.0.1, bench/sink.py), with PostgreSQL, a private redis-server and `--workers` Celery worker
processes of `--concurrency` threads (default 1 × 8: the compose file's worker). Beside it, on
the same number of processes × threads, each thread with its own SMTP connection, the same N
(bench/baselines.py):
- bare: smtplib sending the pipeline's own message, prebuilt: the ceiling;
- naive: Jinja2 + premailer + email.message + smtplib for every recipient.
Each contestant runs `--runs` times (default 3), interleaved round by round so that the load of a
shared machine falls on all of them alike; the summary gives medians and the spread.
`--against REF` adds the pipeline as it was at git revision REF (a temporary worktree, its own
workers and broker database), measured in the same rounds: old against new.

Run: .venv/bin/python bench/bench_pipeline.py [--recipients 5000 | --large] [--runs 3]
     [--workers 1 --concurrency 8] [--against REF] [--only pipeline,bare,naive] [--pg ADMIN_URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import baselines  # noqa: E402
from distribute import states  # noqa: E402
from distribute.audience.segments import add_segment  # noqa: E402
from distribute.config import Settings  # noqa: E402
from distribute.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from distribute.models import Campaign, Contact, Release  # noqa: E402
from distribute.releases.rendering import CompiledMessage  # noqa: E402
from distribute.releases.store import read_release, store_release  # noqa: E402
from distribute.sending import campaigns as ops  # noqa: E402
from distribute.sending.message import MessageBuilder, Recipient, new_ref  # noqa: E402
from distribute.sending.tasks import create_celery  # noqa: E402
from sink import Sink  # noqa: E402

CELERY = str(Path(sys.executable).with_name("celery"))
SECRET = "bench-secret-key-for-distribute-benchmarks"


@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    sink_ms: list[float] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    size: list[float] = field(default_factory=list)

    def add(self, rate: float, cpu_ms: float, sink_ms: float, db_ms: float, rss_mb: list[float], size: float) -> str:
        self.rates.append(rate)
        self.cpu_ms.append(cpu_ms)
        self.sink_ms.append(sink_ms)
        self.db_ms.append(db_ms)
        self.rss_mb.extend(rss_mb)
        self.size.append(size)
        return (f"{rate:8,.0f} msg/s  CPU {cpu_ms:.2f} ms/msg (sink {sink_ms:.2f}, PostgreSQL {db_ms:.2f})  "
                f"peak RSS {', '.join(f'{m:.0f}' for m in rss_mb)} MB  {size / 1024:.1f} KB/msg")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu() -> float:
    """CPU seconds of every PostgreSQL process on the machine so far, the ended backends included
    (the postmaster's children). The server is shared: whatever else it serves meanwhile counts too."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Pipeline:
    """A set of worker processes (of this tree or of an older revision) and a way to send through them."""

    def __init__(self, label: str, tree: Path, env: dict, settings: Settings, args):
        self.label, self.settings = label, settings
        pythonpath = {"PYTHONPATH": str(tree)} if tree != REPO else {}
        # Each worker's output in a file, shown if it dies or sends nothing (an old tree whose
        # code does not fit the schema, say), rather than a silent wait for the timeout.
        self.logs = [tempfile.NamedTemporaryFile(prefix=f"distribute-bench-{label}{i}-", suffix=".log")
                     for i in range(args.workers)]
        self.workers = [subprocess.Popen(
            [CELERY, "-A", "worker", "worker", f"--pool={args.pool}", f"--concurrency={args.concurrency}",
             "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"{label}{i}@%h"],
            cwd=tree, env={**env, **pythonpath, "DISTRIBUTE_BROKER_URL": settings.broker_url},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            for i, log in enumerate(self.logs)]
        self.celery = create_celery(settings)

    def send(self, sessions, release_id: int, server: Sink, n: int, again: bool) -> tuple[float, float, list[float], int]:
        """(messages/s, worker CPU ms per message, peak RSS per worker, campaign id)."""
        cpu_before = sum(proc_cpu(w.pid) for w in self.workers)
        start = time.perf_counter()
        with sessions() as s, s.begin():
            campaign_id = ops.create_campaign(s, s.get(Release, release_id), targets=["press"], variant="journalist",
                                              zone=ZoneInfo("UTC"), again=again).id
        self.celery.runtime().broker.start(campaign_id)
        server.wait_for(1, timeout=120, check=self.check)
        self.first_seconds = time.perf_counter() - start  # the start: compile, fan-out, first batches out
        server.wait_for(n, timeout=3600, check=self.check)
        seconds = time.perf_counter() - start
        cpu = sum(proc_cpu(w.pid) for w in self.workers) - cpu_before
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the last outcomes written before the next contestant starts
            with sessions() as s:
                if s.scalar(select(Campaign.state).where(Campaign.id == campaign_id)) != states.SENDING:
                    break
            time.sleep(0.1)
        return n / seconds, cpu / n * 1000, [peak_rss_mb(w.pid) for w in self.workers], campaign_id

    def check(self, waited: str | None = None) -> None:
        """Raise, with the end of its output, if a worker has exited; or, given what the wait was
        for (`waited`), because it timed out."""
        dead = [i for i, w in enumerate(self.workers) if w.poll() is not None]
        if dead or waited:
            i = dead[0] if dead else 0
            with open(self.logs[i].name, "rb") as log:  # not the worker's own handle, which it still writes through
                tail = log.read().decode("utf-8", "replace")[-3000:]
            what = f"worker {self.label}{i} exited ({self.workers[i].returncode})" if dead else waited
            raise RuntimeError(f"{what}; the end of worker {self.label}{i}'s output:\n{tail}")

    def stop(self) -> None:
        for w in self.workers:
            try:
                os.killpg(w.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # exited already (check() said why)
        for w in self.workers:
            w.wait(timeout=60)
        for log in self.logs:
            log.close()


def seed(sessions, n: int) -> int:
    with sessions() as s, s.begin():
        for start in range(0, n, 10_000):
            s.execute(insert(Contact), [
                {"email": f"reporter{i}@outlet{i % 500}.example", "email_key": f"reporter{i}@outlet{i % 500}.example",
                 "name": f"Reporter Número {i}", "kind": "journalist", "outlet": f"Outlet {i % 500}", "attributes": {}}
                for i in range(start, min(n, start + 10_000))
            ])
        add_segment(s, "press", "kind = journalist")
        return store_release(s, read_release(REPO / "samples" / "release.md", zone=ZoneInfo("UTC"))).id


def pipeline_message(sessions, settings: Settings, campaign_id: int) -> bytes:
    """One message exactly as the pipeline builds it for a recipient of that campaign."""
    with sessions() as s:
        campaign = s.get(Campaign, campaign_id)
        builder = MessageBuilder(CompiledMessage.from_dict(campaign.compiled), settings, campaign_ref=campaign.ref)
        return builder.build(Recipient("reporter1@outlet1.example", "Reporter Número 1", "Outlet 1"), new_ref())


def compiled_message(sessions, db_url: str, release_id: int) -> bytes:
    from distribute.releases.rendering import compile_release

    settings = Settings(database_url=db_url, secret_key=SECRET, base_url="https://press.example.org")
    with sessions() as s:
        compiled = compile_release(s.get(Release, release_id), "journalist", settings)
        return MessageBuilder(compiled, settings, campaign_ref="bench").build(
            Recipient("reporter1@outlet1.example", "Reporter Número 1", "Outlet 1"), new_ref())


def old_tree(ref: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="distribute-bench-")) / "tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref], check=True,
                   capture_output=True)
    return path


def summary(label: str, figures: Figures) -> str:
    r = figures.rates
    return (f"  {label:22} {statistics.median(r):8,.0f} msg/s (runs {min(r):,.0f}–{max(r):,.0f})  "
            f"CPU {statistics.median(figures.cpu_ms):.2f} ms/msg, sink {statistics.median(figures.sink_ms):.2f}, "
            f"PostgreSQL {statistics.median(figures.db_ms):.2f}  "
            f"peak RSS {max(figures.rss_mb):.0f} MB/process  {statistics.median(figures.size) / 1024:.1f} KB/msg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=5_000)
    parser.add_argument("--large", action="store_true", help="100,000 recipients")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (and baseline processes)")
    parser.add_argument("--pool", default="threads", help="Celery pool of each worker process")
    parser.add_argument("--concurrency", type=int, default=8, help="threads per process, each with its own connection")
    parser.add_argument("--against", metavar="REF", help="also measure the pipeline at this git revision")
    parser.add_argument("--only", default="pipeline,bare,naive", help="which contestants (comma-separated)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    n = 100_000 if args.large else args.recipients
    only = set(args.only.split(","))

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
    pipelines: list[Pipeline] = []
    tree = None
    engine = make_engine(db_url)
    try:
        time.sleep(0.5)
        env = {**os.environ, "DISTRIBUTE_DATABASE_URL": db_url, "DISTRIBUTE_SMTP_URL": server.url,
               "DISTRIBUTE_SECRET_KEY": SECRET, "DISTRIBUTE_BASE_URL": "https://press.example.org"}
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        release_id = seed(sessions, n)
        contestants = [("distribute", REPO)] if "pipeline" in only else []
        if args.against:
            tree = old_tree(args.against)
            contestants.append((f"distribute@{args.against}", tree))
        for db, (label, where) in enumerate(contestants):
            settings = Settings(database_url=db_url, broker_url=f"redis://127.0.0.1:{redis_port}/{db}",
                                smtp_url=server.url, secret_key=SECRET, base_url="https://press.example.org")
            pipelines.append(Pipeline(label, where, env, settings, args))
        time.sleep(4)  # let the workers connect before the clock starts

        print(f"pipeline benchmark: {n:,} recipients, {args.runs} runs; {args.workers} process(es) × {args.concurrency} "
              f"threads ({args.pool} pool), one SMTP connection per thread, for every contestant; PostgreSQL + Redis "
              f"+ an aiosmtpd sink on 127.0.0.1; {os.cpu_count()} cores")
        figures = {label: Figures() for label in [p.label for p in pipelines] + ["bare smtplib", "naive loop"]}
        message = None
        sent_once = False
        for run in range(args.runs):
            print(f"round {run + 1}: load average {os.getloadavg()[0]:.2f}")
            for p in pipelines:
                sink_before, db_before = proc_cpu(server.proc.pid), database_cpu()
                server.reset()
                rate, cpu_ms, rss, campaign_id = p.send(sessions, release_id, server, n, again=sent_once)
                sent_once = True
                assert server.accepted.value == n and server.duplicates.value == 0, "a recipient was missed or mailed twice"
                sink_ms = (proc_cpu(server.proc.pid) - sink_before) / n * 1000
                db_ms = (database_cpu() - db_before) / n * 1000
                print(f"  {p.label:22} " + figures[p.label].add(rate, cpu_ms, sink_ms, db_ms, rss, server.mean_size())
                      + f"  first message after {p.first_seconds:.2f} s")
                message = message or pipeline_message(sessions, p.settings, campaign_id)
            for label, kind in (("bare smtplib", "bare"), ("naive loop", "naive")):
                if kind not in only:
                    continue
                if message is None:  # no pipeline in this run: the message it would build
                    message = compiled_message(sessions, db_url, release_id)
                sink_before, db_before = proc_cpu(server.proc.pid), database_cpu()
                server.reset()
                m = baselines.run(kind, server.port, n, args.workers, args.concurrency, message)
                sink_ms = (proc_cpu(server.proc.pid) - sink_before) / n * 1000
                db_ms = (database_cpu() - db_before) / n * 1000
                print(f"  {label:22} " + figures[label].add(m.rate, m.cpu_ms, sink_ms, db_ms, m.rss_mb,
                                                             server.mean_size()))
        print(f"medians of {args.runs} (load average now {os.getloadavg()[0]:.2f}):")
        for label, f in figures.items():
            if f.rates:
                print(summary(label, f))
        med = {label: statistics.median(f.rates) for label, f in figures.items() if f.rates}
        for p in pipelines:
            parts = []
            if "bare smtplib" in med:
                parts.append(f"{med[p.label] / med['bare smtplib']:.2f} × the bare loop (goal 0.6)")
            if "naive loop" in med:
                parts.append(f"{med[p.label] / med['naive loop']:.1f} × the naive loop (goal 5)")
            print(f"  => {p.label}: " + ", ".join(parts))
    finally:
        for p in pipelines:
            p.stop()
        server.stop()
        redis.kill()
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if tree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)


if __name__ == "__main__":
    main()
