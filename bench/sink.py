"""A lean SMTP sink for benchmarks: aiosmtpd in a process of its own, counting what it accepts.

The test server (tests/smtp_server.py) keeps every message and parses its headers, which is
what tests need and not what a relay costs; the benchmark measures against this one instead.
`reset()` starts a new round: the counts go back to zero and a recipient may be mailed again.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import time
from collections.abc import Callable


class _Handler:
    def __init__(self, accepted, duplicates, size, generation):
        self.accepted, self.duplicates, self.size, self.generation = accepted, duplicates, size, generation
        self.seen: set[str] = set()
        self.seen_in = generation.value

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # As a relay does (Postfix, Exim): aiosmtpd reads pipelined commands in order anyway.
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        if self.generation.value != self.seen_in:  # a new round: the same recipients come again
            self.seen.clear()
            self.seen_in = self.generation.value
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.seen:
                with self.duplicates.get_lock():
                    self.duplicates.value += 1
            self.seen.add(rcpt)
        with self.size.get_lock():
            self.size.value += len(envelope.original_content or envelope.content)
        with self.accepted.get_lock():
            self.accepted.value += len(envelope.rcpt_tos)
        return "250 2.0.0 Ok: queued"


def _serve(port, counters, ready):
    from aiosmtpd.controller import Controller

    controller = Controller(_Handler(*counters), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


class Sink:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ctx = mp.get_context("spawn")
        self.accepted, self.duplicates, self.size, self.generation = (ctx.Value("q", 0) for _ in range(4))
        ready = ctx.Event()
        counters = (self.accepted, self.duplicates, self.size, self.generation)
        self.proc = ctx.Process(target=_serve, args=(self.port, counters, ready), daemon=True)
        self.proc.start()
        ready.wait(30)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def reset(self) -> None:
        for value in (self.accepted, self.duplicates, self.size):
            with value.get_lock():
                value.value = 0
        with self.generation.get_lock():
            self.generation.value += 1

    def mean_size(self) -> float:
        return self.size.value / max(1, self.accepted.value)

    def wait_for(self, n: int, timeout: float, check: Callable[..., None] | None = None) -> None:
        """Until `n` messages are accepted. `check()`, called while waiting, may raise (a sender
        gone); on a timeout it is called with what was waited for, to say why."""
        deadline = time.monotonic() + timeout
        while self.accepted.value < n:
            if time.monotonic() > deadline:
                waited = f"{self.accepted.value} of {n} accepted after {timeout:.0f} s"
                if check:
                    check(waited)
                raise TimeoutError(waited)
            if check:
                check()
            time.sleep(0.02)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.join()
