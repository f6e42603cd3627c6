"""The pixel and the click redirect answer before their event is written.

A burst (a newsroom forwarding a release, a scanner fetching every link) must not wait on the
database: requests put their signal on an in-process queue and return; one thread per web
process writes the queue in batches, one transaction per batch. A batch that fails is tried
again, so a database restart delays events rather than losing them; only a process killed
outright loses what it had not written yet (at most about one flush interval of opens and
clicks, never an unsubscribe: those are written before the page answers). A batch of opens and
clicks is a few statements (distribute.feedback.events.record_engagement), not a few per event.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from distribute.config import Settings
from distribute.feedback.events import ENGAGEMENT, Signal, record, record_engagement

log = logging.getLogger(__name__)


class EventBuffer:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, *, batch: int = 500,
                 interval: float = 0.2, capacity: int = 100_000):
        self.sessions, self.settings = sessions, settings
        self.batch, self.interval = batch, interval
        self._queue: queue.Queue[Signal] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()  # one writer at a time: the thread, or flush() from a test
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    def put(self, signal: Signal) -> None:
        try:
            self._queue.put_nowait(signal)
        except queue.Full:  # a flood the database cannot keep up with: keep answering
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("event buffer full: %d tracking events dropped", self.dropped)

    def start(self) -> "EventBuffer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="distribute-events", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def flush(self) -> int:
        """Write everything queued now; returns how many signals were written."""
        written = 0
        with self._lock:
            while True:
                signals = self._take()
                if not signals:
                    return written
                self._write(signals)
                written += len(signals)

    def _take(self, limit: int | None = None) -> list[Signal]:
        signals: list[Signal] = []
        while len(signals) < (limit if limit is not None else self.batch):
            try:
                signals.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return signals

    def _write(self, signals: list[Signal]) -> None:
        delay = 0.5
        while True:
            try:
                self._write_batch(signals)
                return
            except OperationalError:  # the database is away: keep the batch and try again
                if self._stop.is_set() and delay > 4:
                    log.exception("could not write %d tracking events while stopping", len(signals))
                    return
                log.exception("could not write %d tracking events; trying again in %.1fs", len(signals), delay)
                time.sleep(delay)
                delay = min(delay * 2, 30)
            except Exception:
                # Something in the batch itself: write what can be written, one by one, so one
                # bad signal cannot hold up all tracking.
                log.exception("a batch of %d tracking events failed; writing them one by one", len(signals))
                for signal in signals:
                    try:
                        self._write_batch([signal])
                    except Exception:
                        log.exception("tracking event dropped: %s from %s", signal.type, signal.source)
                return

    def _write_batch(self, signals: list[Signal]) -> None:
        hot = [s for s in signals if s.type in ENGAGEMENT and s.dedupe_key is None]
        with self.sessions.begin() as session:
            if hot:
                record_engagement(session, hot, self.settings)
            for signal in signals:
                if not (signal.type in ENGAGEMENT and signal.dedupe_key is None):
                    record(session, signal, self.settings)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=self.interval)
            except queue.Empty:
                continue
            time.sleep(self.interval)  # let a burst gather into one transaction
            with self._lock:
                self._write([first, *self._take(self.batch - 1)])
            self.flush()
