"""The pipeline benchmark's two baselines, on the same shape of work as the workers they are
compared with: `processes` processes of `threads` threads each, every thread with its own SMTP
connection (as every worker thread holds its own), the N recipients shared out among them.

- bare: smtplib sending one prebuilt message (the pipeline's own, same bytes) to N recipients,
  with nothing else: the ceiling of this machine, this sink and this many connections;
- naive: Jinja2 + premailer + email.message for every recipient, then smtplib: what a mailer
  that renders per message does.

The clock runs from the moment every thread is connected and ready to the last reply, so
connecting is not counted (the pipeline's workers are connected at that point too, after their
first message). Each process reports its CPU time and its peak resident memory (VmHWM).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import smtplib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RELEASE = REPO / "samples" / "release.md"


@dataclass
class Measured:
    rate: float  # messages per second, from the first thread's start to the last thread's end
    cpu_ms: float  # CPU (user + system) of the sending processes per message
    rss_mb: list[float]  # peak resident memory of each sending process


def run(kind: str, port: int, n: int, processes: int, threads: int, message: bytes = b"") -> Measured:
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_process, args=(kind, port, n, p, processes, threads, message, ready, results))
             for p in range(processes)]
    for proc in procs:
        proc.start()
    ready.wait(timeout=120)  # every connection open, every template loaded
    reports = [results.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    start = min(r["start"] for r in reports)
    end = max(r["end"] for r in reports)
    sent = sum(r["sent"] for r in reports)
    assert sent == n, f"{kind}: {sent} of {n} sent"
    return Measured(n / (end - start), sum(r["cpu"] for r in reports) / n * 1000, [r["rss_mb"] for r in reports])


def _process(kind, port, n, index, processes, threads, message, ready, results) -> None:
    total = processes * threads
    render = _naive_renderer() if kind == "naive" else None
    connections = [smtplib.SMTP("127.0.0.1", port) for _ in range(threads)]
    sent = [0] * threads
    go = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        smtp = connections[t]
        go.wait()
        for i in range(index * threads + t, n, total):
            if render is not None:
                address, body = render(i)
            else:
                address, body = f"ceiling{i}@bench.example", message
            smtp.sendmail("press@example.org", [address], body)
            sent[t] += 1

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    ready.wait(timeout=120)
    cpu_before = _cpu()
    start = time.monotonic()
    go.wait()
    for w in workers:
        w.join()
    end = time.monotonic()
    cpu = _cpu() - cpu_before
    for smtp in connections:
        smtp.quit()
    results.put({"start": start, "end": end, "sent": sum(sent), "cpu": cpu, "rss_mb": _peak_rss_mb()})


def _naive_renderer():
    from bench_foundation import naive_message, release_from
    from distribute.sending.message import Recipient

    release = release_from(RELEASE)
    naive_message(release, Recipient("warm@bench.example", "Warm Up"))  # templates loaded before the clock

    def render(i: int) -> tuple[str, bytes]:
        recipient = Recipient(f"naive{i}@outlet{i % 500}.example", f"Reporter Número {i}", f"Outlet {i % 500}")
        return recipient.email, naive_message(release, recipient)

    return render


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
