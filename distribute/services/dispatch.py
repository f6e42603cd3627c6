"""Start campaigns whose rows are committed, from a web process: the same tasks `distribute send`
starts. With a broker, the workers take them; embedded (no broker), a thread of this process runs
the embedded worker until they are done, as `distribute send` would in the foreground.

Call it only after the transaction that made the campaign has committed: a worker must never look
for a row it cannot see yet."""

from __future__ import annotations

import threading

from celery import Celery

from distribute.config import Settings
from distribute.sending.tasks import create_celery


_apps: dict[str, Celery] = {}  # one per broker per process: its connection pool is reused
_lock = threading.Lock()


def _celery(settings: Settings) -> Celery:
    with _lock:
        if settings.broker_url not in _apps:
            _apps[settings.broker_url] = create_celery(settings)
        return _apps[settings.broker_url]


def start(settings: Settings, campaign_ids: list[int]) -> None:
    if settings.broker_url:
        broker = _celery(settings).runtime().broker
        for campaign_id in campaign_ids:
            broker.start(campaign_id)
        return
    from distribute.sending.embedded import run_until_idle

    # A Celery app of its own per run: its in-memory queue is its own (see create_celery).
    threading.Thread(target=run_until_idle, args=(create_celery(settings), settings, list(campaign_ids)),
                     name=f"embedded-send-{'-'.join(map(str, campaign_ids))}", daemon=True).start()
