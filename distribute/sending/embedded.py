"""The embedded mode: the real Celery tasks, on an in-process broker, with worker threads
started by the command itself, and what beat does in production run in the same loop: the
sweep, the retention purge (at the start and hourly) and, for `distribute run`, the bounce
mailbox. No Redis, no separate worker: `distribute send` and `distribute demo` work on a fresh
machine.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

from celery import Celery
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select
from sqlalchemy.orm import Session

from distribute import states
from distribute.sending.tasks import FEEDBACK, PURGE_SECONDS, SWEEP
from distribute.config import Settings
from distribute.feedback.events import purge_expired
from distribute.models import Campaign, Delivery

EMBEDDED_SWEEP_SECONDS = 1.0


@contextmanager
def embedded_worker(app: Celery, settings: Settings) -> Iterator[None]:
    """Worker threads consuming the app's broker until the block ends (then a warm shutdown)."""
    with start_worker(app, concurrency=settings.embedded_workers, pool="threads", perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=120) as worker:
        yield
        worker.stop()  # a warm shutdown now, rather than at the consumer's next poll timeout


def active(session, campaign_ids: list[int]) -> bool:
    """Anything left that a worker can finish now: a campaign due, or sending with work that is
    not waiting for a retry time."""
    campaigns = session.execute(
        select(Campaign.id, Campaign.state, Campaign.fanned_out_at).where(Campaign.id.in_(campaign_ids))
    ).all()
    for campaign_id, state, fanned_out_at in campaigns:
        if state == states.SCHEDULED:
            return True
        if state == states.SENDING:
            if fanned_out_at is None:
                return True
            waiting = session.scalar(
                select(Delivery.id).where(Delivery.campaign_id == campaign_id,
                                          Delivery.state.in_((states.QUEUED, states.DELIVERY_SENDING))).limit(1)
            )
            if waiting is not None:
                return True
    return False


def run_until_idle(app: Celery, settings: Settings, campaign_ids: list[int],
                   on_progress: Callable[[Session], None] | None = None, *, forever: bool = False) -> None:
    """Start the given campaigns through the broker and serve them until nothing is left to send
    now (deferred retries wait for a later run or the production worker), or forever.
    `on_progress(session)` is called about ten times a second to show how it goes."""
    rt = app.runtime()
    try:
        _serve(app, settings, rt, campaign_ids, on_progress, forever)
    finally:
        rt.close()


def _serve(app: Celery, settings: Settings, rt, campaign_ids: list[int],
           on_progress: Callable[[Session], None] | None, forever: bool) -> None:
    with embedded_worker(app, settings):
        for campaign_id in campaign_ids:
            rt.broker.start(campaign_id)
        next_sweep = time.monotonic() + min(settings.sweep_seconds, EMBEDDED_SWEEP_SECONDS)
        next_feedback = next_purge = time.monotonic()
        while True:
            time.sleep(0.1)
            if time.monotonic() >= next_purge:
                # Personal data is kept only as long as promised, beat or no beat: the function
                # beat's task runs, here in this thread, so a short `send` does it too.
                purge_expired(rt.sessions, settings)
                next_purge = time.monotonic() + PURGE_SECONDS
            if time.monotonic() >= next_sweep:
                app.send_task(SWEEP)
                next_sweep = time.monotonic() + min(settings.sweep_seconds, EMBEDDED_SWEEP_SECONDS)
            if forever and time.monotonic() >= next_feedback:  # `distribute run`: the bounce mailbox too
                app.send_task(FEEDBACK)
                next_feedback = time.monotonic() + 60
            with rt.sessions() as session:
                done = not forever and not active(session, campaign_ids)
                if on_progress:
                    on_progress(session)
                if done:
                    break
