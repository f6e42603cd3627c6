"""Load test of the hot web endpoints, the open pixel and the click redirect, with wrk against
`distribute serve` (gunicorn, gthread) on 127.0.0.1 and PostgreSQL, beside in the same run:
- the ceiling: `GET /healthz` on the same server (no database, no token);
- the naive way: the same app and views, but each event written in its own transaction inside
  the request (`naive_app()` below, served by gunicorn with the same workers and threads).

Every request is a different recipient (and, for clicks, link): bench/wrk_urls.lua cycles
through a file of signed paths. After each tracked run the events table is polled until it stops
growing (the buffer has drained), and again after the server is stopped with SIGTERM (the
buffer's final flush), and compared with the requests wrk counted.

Each run is repeated --runs times (default 3), round by round, and the medians reported; --against REF
also serves the app as it was at git revision REF (a temporary worktree) in the same rounds.

Run: .venv/bin/python bench/bench_web.py [--seconds 10] [--runs 3] [--against REF] [--connections 64] [--recipients 20000]
         [--workers 2] [--threads 8] [--wrk-threads 2] [--json] [--pg ADMIN_URL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distribute.sending import campaigns as ops  # noqa: E402
from distribute import states  # noqa: E402
from distribute.config import Settings, load_settings  # noqa: E402
from distribute.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from distribute.feedback.events import Signal, record  # noqa: E402
from distribute.sending.fanout import start_campaign  # noqa: E402
from distribute.models import Campaign, Contact, Delivery, Event, Release  # noqa: E402
from distribute.releases.store import read_release, store_release  # noqa: E402
from distribute.audience.segments import add_segment  # noqa: E402
from distribute.releases.links import trackable  # noqa: E402
from distribute.signing import Tokens  # noqa: E402

BIN = Path(sys.executable).parent
LUA = Path(__file__).resolve().with_name("wrk_urls.lua")
SECRET = "bench-secret-key-for-distribute-benchmarks"
BASE = "https://press.example.org"


# --- the baseline: the same views, the event written inside the request -------------------------
class _WriteNow:
    """Stands in for distribute.web.public.buffer.EventBuffer: `put` writes the signal at once, in its
    own transaction, through distribute.feedback.events.record: what a tracking endpoint does when it
    is written the obvious way."""

    def __init__(self, sessions, settings: Settings):
        self.sessions, self.settings = sessions, settings
        self.dropped = 0

    def put(self, signal: Signal) -> None:
        with self.sessions.begin() as session:
            record(session, signal, self.settings)

    def flush(self) -> int:
        return 0

    def stop(self) -> None:
        pass


def naive_app():
    """gunicorn 'bench.bench_web:naive_app()': distribute's web app with synchronous event writes."""
    from distribute.web import create_app

    settings = load_settings()
    app = create_app(settings, buffered=False)
    state = app.extensions["distribute"]
    state.events = _WriteNow(state.sessions, settings)
    return app


# --- setup ------------------------------------------------------------------------------------------
class _NoBroker:
    def enqueue(self, campaign_id: int, delivery_ids: list[int]) -> None:
        pass


def make_campaign(sessions, settings: Settings, n: int) -> tuple[str, list[str], list[str]]:
    """A tracked campaign with n deliveries `sent` an hour ago; returns (campaign ref, delivery
    refs, the campaign's links)."""
    with sessions() as s, s.begin():
        for start in range(0, n, 10_000):
            s.execute(insert(Contact), [
                {"email": f"reporter{i}@outlet{i % 500}.example", "email_key": f"reporter{i}@outlet{i % 500}.example",
                 "name": f"Reporter {i}", "kind": "journalist", "outlet": f"Outlet {i % 500}", "attributes": {}}
                for i in range(start, min(n, start + 10_000))
            ])
        add_segment(s, "press", "kind = journalist")
        release = store_release(s, read_release(REPO / "samples" / "release.md", zone=ZoneInfo("UTC")))
        campaign_id = ops.create_campaign(s, s.get(Release, release.id), targets=["press"], variant="journalist",
                                          zone=ZoneInfo("UTC"), track=True).id
    # Fan-out for real (compile + add_tracking + one INSERT … SELECT), then "send" with one UPDATE.
    start_campaign(sessions, settings, _NoBroker(), campaign_id)
    with sessions() as s, s.begin():
        s.execute(update(Delivery).where(Delivery.campaign_id == campaign_id).values(
            state=states.DELIVERED, sent_at=func.now() - text("interval '1 hour'"), lease_until=None,
            attempts=1, last_code=250))
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(state=states.SENT, finished_at=func.now()))
    with sessions() as s:
        campaign = s.get(Campaign, campaign_id)
        refs = s.scalars(select(Delivery.ref).where(Delivery.campaign_id == campaign_id).order_by(Delivery.id)).all()
        return campaign.ref, list(refs), list(campaign.compiled["links"])


def write_paths(directory: Path, campaign_ref: str, refs: list[str], links: list[str]) -> tuple[Path, Path]:
    tokens = Tokens(SECRET)
    pixel = directory / "pixel.txt"
    pixel.write_text("".join(f"/o/{tokens.open.sign(ref)}.gif\n" for ref in refs))
    usable = [n for n, url in enumerate(links) if trackable(url)]
    assert usable, "the campaign has no tracked link"
    click = directory / "click.txt"
    click.write_text("".join(f"/c/{tokens.click_token(ref, campaign_ref, usable[i % len(usable)])}\n"
                             for i, ref in enumerate(refs)))
    return pixel, click


# --- servers ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, label: str, argv: list[str], env: dict, port: int, log: Path, cwd: Path = REPO):
        self.label, self.port, self.log_path = label, port, log
        self._log = log.open("w")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{label} did not start:\n{log.read_text()}")
            time.sleep(0.2)

    def stop(self, timeout: float = 60) -> float:
        """SIGTERM to the gunicorn master (it stops its workers gracefully: their atexit writes
        what the event buffer still holds); returns the seconds it took."""
        start = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return time.perf_counter() - start

    def log_findings(self) -> list[str]:
        keep = re.compile(r"Traceback|ERROR|CRITICAL|WARNING|dropped|could not write|Exception|timeout|SIGKILL",
                          re.I)
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if keep.search(line)]


def distribute_serve(env: dict, port: int, workers: int, threads: int, log: Path, tree: Path = REPO) -> Server:
    """`distribute serve` of this tree, or of another revision's (its code first on the path)."""
    return Server("distribute serve", [str(BIN / "distribute"), "serve", "--host", "127.0.0.1", "--port", str(port),
                                       "--workers", str(workers), "--threads", str(threads)],
                  {**env, "PYTHONPATH": str(tree)}, port, log, cwd=tree)


def naive_serve(env: dict, port: int, workers: int, threads: int, log: Path) -> Server:
    # The settings `distribute serve` gives gunicorn (gthread, keepalive 5, no access log).
    return Server("naive (gunicorn)", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                                       "--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "5",
                                       "--graceful-timeout", "10", "bench.bench_web:naive_app()"], env, port, log)


# --- wrk --------------------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> dict:
    """The figures of `wrk --latency` (its text), checked against the Lua done() line."""
    figures: dict = {}
    m = re.search(r"(\d+) requests in ([\d.]+\w+), ", output)
    figures["requests"] = int(m.group(1))
    figures["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    for pct in ("50", "90", "99"):
        figures[f"p{pct}_ms"] = _ms(re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["non_2xx_3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    figures["socket_errors"] = sum(map(int, m.groups())) if m else 0
    m = re.search(r"^WRK_JSON (.*)$", output, re.M)
    if m:
        exact = json.loads(m.group(1))
        assert exact["requests"] == figures["requests"], (exact, figures)
        figures["p50_ms"], figures["p99_ms"] = exact["p50_us"] / 1000, exact["p99_us"] / 1000
        figures["max_ms"] = exact["max_us"] / 1000
        figures["rps"] = exact["requests"] / (exact["duration_us"] / 1e6)
    return figures


def run_wrk(port: int, args, paths: Path) -> tuple[dict, str]:
    argv = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
            "--timeout", "5s", "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(paths), str(args.wrk_threads)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout), result.stdout


# --- counting ---------------------------------------------------------------------------------------
def count_events(sessions, type_: str) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.type == type_))


def wait_drained(sessions, type_: str, since: float, expected: int, timeout: float,
                 quiet: float = 1.0) -> tuple[int, float | None]:
    """Poll the events count until it has reached `expected` (the requests made) and then not
    moved for `quiet` seconds, or until `timeout` seconds after the load. Returns the count and
    the seconds from `since` (when the load stopped) to its last move, or None if it never
    reached `expected`. (A count merely standing still proves nothing: the buffer writes 500
    signals per transaction, and waits up to 30 s before trying a failed batch again.)"""
    last = count_events(sessions, type_)
    last_change = since
    while True:
        time.sleep(0.05)
        now = time.perf_counter()
        current = count_events(sessions, type_)
        if current != last:
            last, last_change = current, now
        elif last >= expected and now - last_change >= quiet:
            return last, max(0.0, last_change - since)
        if now - since > timeout:
            return last, None


def summary_counts(sessions) -> dict:
    with sessions() as s:
        return {
            "opened_events": s.scalar(select(func.count()).select_from(Event).where(Event.type == "opened")),
            "clicked_events": s.scalar(select(func.count()).select_from(Event).where(Event.type == "clicked")),
            "delivery_opens": s.scalar(select(func.coalesce(func.sum(Delivery.opens), 0))),
            "delivery_clicks": s.scalar(select(func.coalesce(func.sum(Delivery.clicks), 0))),
        }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tracked_run(name: str, type_: str, server: Server, paths: Path, sessions, args, results: dict) -> None:
    """One wrk run of a tracked endpoint; its events are the rows of `type_` it added."""
    before = count_events(sessions, type_)
    figures, raw = run_wrk(server.port, args, paths)
    ended = time.perf_counter()
    at_end = count_events(sessions, type_) - before
    total, drain = wait_drained(sessions, type_, ended, before + figures["requests"], args.drain_timeout)
    figures |= {"events_at_load_end": at_end, "events": total - before,
                "drain_s": None if drain is None else round(drain, 2)}
    results.setdefault(name, []).append(figures)
    log(f"  {name}: {figures['rps']:,.0f} req/s, p99 {figures['p99_ms']:.1f} ms, {figures['requests']:,} requests, "
        f"{at_end:,} events written when the load stopped, {figures['events']:,} "
        + (f"{drain:.2f}s later" if drain is not None else f"after waiting {args.drain_timeout:.0f}s (not drained)"))
    results.setdefault("_raw", {})[name] = raw


# --- main -------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--runs", type=int, default=3, help="rounds of every run, interleaved; medians reported")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (-c)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument("--recipients", type=int, default=20_000, help="deliveries of the campaign")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn process")
    parser.add_argument("--against", metavar="REF", help="also serve the app as it was at this git revision")
    parser.add_argument("--no-naive", action="store_true", help="leave out the write-per-request baseline")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="an admin URL of the PostgreSQL server: a scratch database is made and dropped")
    parser.add_argument("--drain-timeout", type=float, default=90,
                        help="seconds to wait after a run for every request's event to be written")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--raw", action="store_true", help="also print wrk's own output (to stderr)")
    args = parser.parse_args()
    # A SIGTERM to the bench still drops its database and stops its servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    name = f"distribute_bench_{secrets.token_hex(4)}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DISTRIBUTE_DATABASE_URL": db_url, "DISTRIBUTE_SECRET_KEY": SECRET,
           "DISTRIBUTE_BASE_URL": BASE, "PYTHONPATH": str(REPO)}
    env.pop("DISTRIBUTE_BROKER_URL", None)
    settings = Settings(database_url=db_url, secret_key=SECRET, base_url=BASE)
    servers: dict[str, Server] = {}
    engine = None
    tree = None
    tmp = Path(tempfile.mkdtemp(prefix="bench_web_"))
    results: dict = {}
    try:
        engine = make_engine(db_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        campaign_ref, refs, links = make_campaign(sessions, settings, args.recipients)
        pixel_paths, click_paths = write_paths(tmp, campaign_ref, refs, links)
        (tmp / "healthz.txt").write_text("/healthz\n")
        log(f"setup: {len(refs):,} deliveries sent, {len(links)} tracked links, in {time.perf_counter() - started:.1f}s")
        servers["distribute"] = distribute_serve(env, free_port(), args.workers, args.threads, tmp / "serve.log")
        if args.against:
            tree = Path(tempfile.mkdtemp(prefix="distribute-bench-")) / "tree"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.against],
                           check=True, capture_output=True)
            servers[f"@{args.against}"] = distribute_serve(env, free_port(), args.workers, args.threads,
                                                           tmp / "old.log", tree=tree)
        if not args.no_naive:
            servers["naive"] = naive_serve(env, free_port(), args.workers, args.threads, tmp / "naive.log")
        for run in range(args.runs):
            log(f"round {run + 1}: load average {os.getloadavg()[0]:.2f}")
            for label, server in servers.items():
                tracked_run(f"{label} pixel", "opened", server, pixel_paths, sessions, args, results)
                tracked_run(f"{label} click", "clicked", server, click_paths, sessions, args, results)
            figures, raw = run_wrk(servers["distribute"].port, args, tmp / "healthz.txt")
            results.setdefault("healthz", []).append(figures)
            log(f"  healthz: {figures['rps']:,.0f} req/s, p99 {figures['p99_ms']:.1f} ms")
        results["load_after"] = os.getloadavg()[0]
        results["servers"] = {}
        for label, server in servers.items():
            results["servers"][label] = {"stop_s": round(server.stop(), 2), "log": str(server.log_path),
                                         "log_findings": server.log_findings()}
        results["after_stop"] = summary_counts(sessions)
        results["total_s"] = round(time.perf_counter() - started, 1)
    finally:
        for server in servers.values():
            server.stop()
        if engine is not None:
            engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        for paths in tmp.glob("*.txt"):  # the signed paths; the server logs stay for a look
            paths.unlink()
        if tree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)

    raw = results.pop("_raw", {})
    config = {"recipients": len(refs), "links": len(links), "seconds": args.seconds, "connections": args.connections,
              "wrk_threads": args.wrk_threads, "workers": args.workers, "threads": args.threads, "runs": args.runs,
              "cpus": os.cpu_count(), "database": "PostgreSQL on 127.0.0.1", "drain_timeout": args.drain_timeout}
    if args.raw:
        for label, text_ in raw.items():
            log(f"--- wrk output: {label}\n{text_}")
    if args.json:
        print(json.dumps({"config": config, **results}, indent=2, default=str))
        return
    report(config, results)


GRACEFUL_TIMEOUT = 30  # what distribute serve gives gunicorn: then the master SIGKILLs its workers


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(config: dict, results: dict) -> None:
    print(f"distribute web benchmark: wrk -t{config['wrk_threads']} -c{config['connections']} "
          f"-d{config['seconds']}s --latency, {config['runs']} interleaved rounds (medians, p99 spread), every "
          f"request a different recipient ({config['recipients']:,} deliveries, {config['links']} links)")
    print(f"  servers: gunicorn gthread, {config['workers']} workers x {config['threads']} threads, PostgreSQL, "
          f"all on 127.0.0.1 -- {config['cpus']} CPU cores shared by wrk, gunicorn and PostgreSQL")
    header = f"  {'run':<22}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'p99 runs':>16}{'errors':>7}{'undrained':>10}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for key, runs in results.items():
        if not isinstance(runs, list):
            continue
        errors = sum(r["non_2xx_3xx"] + r["socket_errors"] for r in runs)
        undrained = sum(1 for r in runs if "drain_s" in r and r["drain_s"] is None)
        p99s = [r["p99_ms"] for r in runs]
        print(f"  {key:<22}{_median(runs, 'rps'):>8,.0f}{_median(runs, 'p50_ms'):>8.1f}{_median(runs, 'p99_ms'):>8.1f}"
              f"{f'{min(p99s):.0f}–{max(p99s):.0f}':>16}{errors:>7,}{undrained:>10}")
    ceiling = _median(results["healthz"], "rps")
    for key, runs in results.items():
        if isinstance(runs, list) and key != "healthz":
            print(f"  => {key}: {_median(runs, 'rps') / ceiling:.0%} of the /healthz rate, p99 "
                  f"{_median(runs, 'p99_ms'):.1f} ms (goal: under 50 ms at the ceiling's rate)")
    requests = {t: sum(r["requests"] for k, runs in results.items() if isinstance(runs, list) and k.endswith(t)
                       for r in runs) for t in ("pixel", "click")}
    after = results["after_stop"]
    for kind, events in (("pixel", after["opened_events"]), ("click", after["clicked_events"])):
        lost = requests[kind] - events
        print(f"  {kind}: {requests[kind]:,} requests over every server and round, {events:,} events after the "
              f"servers stopped" + (f" -- !! {lost:,} LOST" if lost > 0 else " (every request has its event)"))
    consistent = after["delivery_opens"] == after["opened_events"] and after["delivery_clicks"] == after["clicked_events"]
    print(f"  deliveries' counters {'match' if consistent else 'DO NOT match'} the events; load average at the end "
          f"{results['load_after']:.2f}")
    for label, s in results["servers"].items():
        killed = s["stop_s"] >= GRACEFUL_TIMEOUT
        print(f"  {label}: SIGTERM -> exit in {s['stop_s']:.1f}s{' (workers SIGKILLed)' if killed else ''}; "
              f"{len(s['log_findings'])} warning/error lines in {s['log']}")
        for line in dict.fromkeys([line for line in s["log_findings"] if not line.startswith(" ")][:5]):
            print(f"      {line[:160]}")
    print(f"  total {results['total_s']:.0f}s")


if __name__ == "__main__":
    main()
