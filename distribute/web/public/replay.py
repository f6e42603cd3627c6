"""The memory of webhook signature tokens already used (distribute.feedback.webhooks.events.TokenStore).

Mailgun signs a timestamp and a token, not the event, so the web app remembers each token for
as long as its timestamp can pass and refuses it with another event. The web app runs as several
gunicorn processes on several machines, so the memory must be shared, or a replay sent to another
process would pass: Redis when the broker is Redis (one atomic SET NX that expires by itself),
the database otherwise (one row per token under a unique key; each web process deletes expired
rows at most once a minute).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from distribute.config import Settings
from distribute.db import insert_for
from distribute.models import WebhookToken, utcnow

if TYPE_CHECKING:
    import redis

REDIS_PREFIX = "distribute:webhook-token:"


class RedisTokenStore:
    def __init__(self, client: redis.Redis, *, prefix: str = REDIS_PREFIX):
        self.client, self.prefix = client, prefix

    def claim(self, key: str, digest: str, until: dt.datetime) -> str | None:
        # SET NX GET (Redis 7): stored, or the earlier value read, in one atomic step, so two
        # processes given the same token at the same moment cannot both take it as new.
        previous = self.client.set(self.prefix + key, digest, nx=True, get=True, pxat=int(until.timestamp() * 1000))
        return previous.decode() if isinstance(previous, bytes) else previous


class DatabaseTokenStore:
    PURGE_SECONDS = 60.0

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def claim(self, key: str, digest: str, until: dt.datetime) -> str | None:
        self._purge_now_and_then()
        with self.sessions.begin() as session:
            # A concurrent insert of the same key waits for the other transaction to end, then
            # does nothing: one of the two owns the token, the other reads its digest.
            inserted = session.execute(insert_for(session, WebhookToken).values(key=key, digest=digest, expires_at=until)
                                       .on_conflict_do_nothing(index_elements=["key"])
                                       .returning(WebhookToken.key)).first()
            if inserted is not None:
                return None
            return session.scalar(select(WebhookToken.digest).where(WebhookToken.key == key))

    def _purge_now_and_then(self) -> None:
        with self._lock:
            if time.monotonic() < self._next_purge:
                return
            self._next_purge = time.monotonic() + self.PURGE_SECONDS
        # Its own short transaction: expired rows are touched by no one else but other purges.
        with self.sessions.begin() as session:
            session.execute(delete(WebhookToken).where(WebhookToken.expires_at < utcnow()))


def token_store(settings: Settings, sessions: sessionmaker[Session]) -> RedisTokenStore | DatabaseTokenStore:
    """Redis when the broker is Redis (every web process reaches it already), else the database."""
    url = settings.broker_url or ""
    if url.startswith(("redis://", "rediss://")):
        import redis

        return RedisTokenStore(redis.Redis.from_url(url))
    return DatabaseTokenStore(sessions)
