"""The Celery application and its tasks. Tasks take ids only; the database holds the rest.

Production: `celery -A worker worker` and `celery -A worker beat` (the sweep). Embedded: the
same app on an in-process broker, with a worker thread started by the command (see embedded).

The tasks are the module-level functions below, declared with @task; create_celery registers
every one on each app it makes. No task retries through Celery: a delivery's retries and their
times are kept in the database (distribute.sending.sender), and the sweep (distribute.sending.sweeper)
repairs whatever a crash leaves, so a task that fails is simply run again when it is redelivered.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from celery import Celery, Task, signals

from distribute.config import Settings
from distribute.db import make_engine, make_sessionmaker
from distribute.deliveries.recount import RECOUNT_SECONDS

START, SEND_BATCH, SWEEP = "distribute.start_campaign", "distribute.send_batch", "distribute.sweep"
FEEDBACK = "distribute.feedback"  # the bounce mailbox
PURGE = "distribute.purge"  # raw tracking data past its retention
PURGE_SECONDS = 3600.0  # how often beat, and the embedded loop, purge
RECOUNT = "distribute.recount"  # the campaign counters against an exact recount


class CeleryBroker:
    """The pipeline's view of the broker: put work on it, by id."""

    def __init__(self, app: Celery):
        self.app = app

    def enqueue(self, campaign_id: int, delivery_ids: list[int]) -> None:
        self.app.send_task(SEND_BATCH, args=[campaign_id, delivery_ids])

    def start(self, campaign_id: int) -> None:
        self.app.send_task(START, args=[campaign_id])


WORKER_THREADS = 16


@dataclass
class Runtime:
    """One per process, made on first use (after a prefork worker has forked)."""

    settings: Settings
    app: Celery

    @cached_property
    def engine(self):
        # A thread pool of up to WORKER_THREADS (the compose file runs 8) each keeps its connection.
        return make_engine(self.settings.database_url, pool_size=WORKER_THREADS)

    @cached_property
    def sessions(self):
        return make_sessionmaker(self.engine)

    @cached_property
    def broker(self) -> CeleryBroker:
        return CeleryBroker(self.app)

    @cached_property
    def sender(self):
        from distribute.sending.ratelimit import rate_limiter_from_settings
        from distribute.sending.sender import Sender
        from distribute.transport import transport_from_settings

        return Sender(self.settings, self.sessions, lambda: transport_from_settings(self.settings),
                      rate_limiter_from_settings(self.settings))

    def close(self) -> None:
        """Close the SMTP connection and the database pool (an embedded run that is over)."""
        if "sender" in self.__dict__:
            self.sender.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


class Runtimes:
    """app.runtime(): the process's Runtime, made on first use (after a prefork worker has forked)."""

    def __init__(self, settings: Settings, app: Celery):
        self._settings, self._app = settings, app
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None

    def __call__(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                self._runtime = Runtime(self._settings, self._app)
            return self._runtime

    def close_transport(self, **_) -> None:
        """At a worker process's shutdown: QUIT the SMTP connection it holds, if any."""
        if self._runtime is not None and "sender" in self._runtime.__dict__:
            self._runtime.sender.close()


# What create_celery registers on every app: (function, options). A task is bound to the one app
# it is registered on (shared=False), as tests run many apps in one process.
_TASKS: list[tuple[Callable, dict]] = []


def task(name: str, **options) -> Callable[[Callable], Callable]:
    """Declare a module-level function a task. It is bound (its first argument, self, is the Task)
    and reaches the process's Runtime through runtime(self)."""

    def declare(function: Callable) -> Callable:
        _TASKS.append((function, {"name": name, "bind": True, "shared": False, **options}))
        return function

    return declare


def runtime(bound: Task) -> Runtime:
    return bound.app.runtime()


def create_celery(settings: Settings) -> Celery:
    # memory://localhost/: an in-process broker for the embedded mode (one process, worker threads).
    app = Celery("distribute", broker=settings.broker_url or "memory://localhost/")
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Acknowledge after the task ran, so a killed worker's task is delivered again; the
        # database, not the broker, decides whether a message was already sent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_seconds,
            # Look for unacknowledged tasks past their visibility timeout often enough to matter
            # when the timeout is short (kombu scans every interval × throttle seconds).
            "unacked_restore_interval": max(1.0, min(10.0, settings.visibility_timeout_seconds / 2)),
            "unacked_restore_throttle": 1 if settings.visibility_timeout_seconds < 120 else 10,
        },
        beat_schedule={
            "sweep": {"task": SWEEP, "schedule": settings.sweep_seconds},
            "feedback": {"task": FEEDBACK, "schedule": max(30.0, settings.sweep_seconds)},
            "purge": {"task": PURGE, "schedule": PURGE_SECONDS},
            "recount": {"task": RECOUNT, "schedule": RECOUNT_SECONDS},
        },
        worker_hijack_root_logger=False,
    )
    if not settings.broker_url:
        # kombu's in-memory queues are shared by the whole process: a queue of its own keeps
        # one embedded run's tasks from a worker of another (tests run many in one process).
        app.conf.task_default_queue = f"distribute-embedded-{secrets.token_hex(4)}"
        # The in-memory transport polls; the default second would pace every hop of a small send.
        app.conf.broker_transport_options = {"polling_interval": 0.05}
    runtimes = Runtimes(settings, app)
    app.runtime = runtimes  # type: ignore[attr-defined]
    for function, options in _TASKS:
        app.task(**options)(function)
    signals.worker_process_shutdown.connect(runtimes.close_transport, weak=False)
    signals.worker_init.connect(_load_the_pipeline, weak=False)
    return app


def _load_the_pipeline(**_) -> None:
    """A starting worker loads what its tasks import (the renderer with premailer and lxml, the
    sender, the SMTP transport), before its first task rather than during it: the first campaign
    after a start would otherwise wait a second more for its first message. A prefork worker's
    children inherit them. Commands that only put tasks on the broker still start without them."""
    import distribute.sending.fanout  # noqa: F401
    import distribute.sending.ratelimit  # noqa: F401
    import distribute.sending.sender  # noqa: F401
    import distribute.transport.smtp  # noqa: F401


# --- sending --------------------------------------------------------------------------------------

@task(START)
def start_campaign_task(self: Task, campaign_id: int) -> None:
    from distribute.sending.fanout import start_campaign

    rt = runtime(self)
    start_campaign(rt.sessions, rt.settings, rt.broker, campaign_id)


@task(SEND_BATCH)
def send_batch_task(self: Task, campaign_id: int, delivery_ids: list[int]) -> None:
    from distribute.sending.fanout import enqueue_pending

    rt = runtime(self)
    rt.sender.send_batch(campaign_id, delivery_ids)
    enqueue_pending(rt.sessions, rt.settings, rt.broker, campaign_id)  # keep the campaign's batches flowing


@task(SWEEP)
def sweep_task(self: Task) -> None:
    from distribute.sending.sweeper import sweep

    rt = runtime(self)
    sweep(rt.sessions, rt.settings, rt.broker)


# --- what comes back ------------------------------------------------------------------------------

@task(FEEDBACK)
def feedback_task(self: Task) -> None:
    """Read the bounce mailbox: bounces, complaints, mailto unsubscribes."""
    from distribute.feedback.inbound import process_mailbox

    rt = runtime(self)
    if rt.settings.bounce_mailbox:
        process_mailbox(rt.sessions, rt.settings, rt.settings.bounce_mailbox)


@task(PURGE)
def purge_task(self: Task) -> None:
    from distribute.feedback.events import purge_expired

    rt = runtime(self)
    purge_expired(rt.sessions, rt.settings)


@task(RECOUNT)
def recount_task(self: Task) -> None:
    """Repair any drift of the counters of campaigns started lately (each repair is logged)."""
    from distribute.deliveries.recount import RECOUNT_DAYS, recount

    recount(runtime(self).engine, days=RECOUNT_DAYS)
