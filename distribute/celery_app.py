"""The Celery application, configured from Settings. Tasks join it in the delivery pipeline."""

from __future__ import annotations

from celery import Celery

from distribute.config import Settings


def create_celery(settings: Settings) -> Celery:
    app = Celery("distribute", broker=settings.broker_url or "memory://")
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        # Tasks acknowledge after they finish, so a killed worker's task is delivered again;
        # the database, not the broker, decides whether a message was already sent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )
    return app
