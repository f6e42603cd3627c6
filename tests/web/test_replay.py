"""The web app's memory of used webhook signature tokens, on the real databases and Redis."""

from __future__ import annotations

import datetime as dt
import secrets
import threading

import pytest
import redis
from sqlalchemy import select

from distribute.config import Settings
from distribute.models import WebhookToken, utcnow
from distribute.web.public.replay import DatabaseTokenStore, RedisTokenStore, token_store

REDIS_URL = "redis://127.0.0.1:6379/12"  # a database of its own on the shared Redis


@pytest.fixture
def redis_store():
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"distribute-test:webhook-token:{secrets.token_hex(4)}:"
    yield RedisTokenStore(client, prefix=prefix)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_token_has_one_owner_even_when_claimed_at_once_in_the_database(db):
    _one_owner(DatabaseTokenStore(db.sessions))


def test_a_token_has_one_owner_even_when_claimed_at_once_in_redis(redis_store):
    _one_owner(redis_store)


def _one_owner(store):
    until = utcnow() + dt.timedelta(minutes=20)
    results: list[str | None] = []
    start = threading.Barrier(8)

    def claim(n: int) -> None:
        start.wait()
        results.append(store.claim("mailgun:same-token", f"digest-{n}", until))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One claim owns the token; the seven others are told the owner's digest.
    assert len(results) == 8 and results.count(None) == 1 and len(set(results) - {None}) == 1
    assert store.claim("mailgun:another-token", "digest-x", until) is None


def test_redis_keeps_a_token_until_it_can_no_longer_pass(redis_store):
    until = utcnow() + dt.timedelta(minutes=20)
    assert redis_store.claim("mailgun:t", "d", until) is None
    expires_ms = redis_store.client.pexpiretime(redis_store.prefix + "mailgun:t")
    assert abs(expires_ms - until.timestamp() * 1000) < 2


def test_the_database_purges_expired_tokens(db):
    store = DatabaseTokenStore(db.sessions)
    now = utcnow()
    assert store.claim("mailgun:old", "d1", now - dt.timedelta(seconds=1)) is None  # purge runs first: kept
    assert store.claim("mailgun:live", "d2", now + dt.timedelta(minutes=20)) is None
    with db.sessions() as s:
        assert set(s.scalars(select(WebhookToken.key))) == {"mailgun:old", "mailgun:live"}
    store._next_purge = 0.0  # a minute later
    assert store.claim("mailgun:new", "d3", now + dt.timedelta(minutes=20)) is None
    with db.sessions() as s:
        assert set(s.scalars(select(WebhookToken.key))) == {"mailgun:live", "mailgun:new"}


def test_redis_when_the_broker_is_redis_else_the_database(db):
    assert isinstance(token_store(Settings(database_url=db.url, broker_url=REDIS_URL), db.sessions), RedisTokenStore)
    assert isinstance(token_store(Settings(database_url=db.url), db.sessions), DatabaseTokenStore)
