"""Send-rate limits: GCRA on the real Redis (shared by threads and processes) and in-process.

The Redis is shared with other users: these tests use db 13 (DISTRIBUTE_TEST_REDIS_URL to change
it) and a key prefix unique to each test, and delete their keys afterwards. Rates are small
(5–20/s) so the timing tests finish in a few seconds; where a test checks that a bucket refuses,
its interval is long (0.5–5 s) so that a loaded machine stalling for a moment does not refill it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import threading
import time
from types import SimpleNamespace

import pytest
import redis

from distribute.config import Settings
from distribute.errors import UserError
from distribute.sending.ratelimit import (
    LocalRateLimiter,
    NoRateLimit,
    RateLimiter,
    RateLimitTimeout,
    RedisRateLimiter,
    parse_domain_overrides,
    rate_limiter_from_settings,
)

REDIS_URL = os.environ.get("DISTRIBUTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TOLERANCE = 0.01  # seconds: sleep and round-trip slack on a lower bound that GCRA makes exact


# Upper bounds on how long something took: a loaded 2-core machine may stall a thread for
# a few hundred milliseconds, so each allows that much and still tells the right behaviour from
# the wrong one (a slot taken twice, a sleep that should not have happened).
STALL = 0.35


def assert_refused_until(limiter: RateLimiter, domain: str, slot: float, started: float) -> float:
    """try_acquire refuses with the time left until `slot` seconds after the first grant, which
    came after monotonic time `started`: the bounds move with the time the machine took."""
    wait = limiter.try_acquire(domain)
    left = slot - (time.monotonic() - started)
    assert max(left, 0.0) - TOLERANCE < wait <= slot + TOLERANCE, (wait, left, slot)
    return wait


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    prefix = f"distribute-test:rate:{os.getpid()}:{secrets.token_hex(4)}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(params=["redis", "local"])
def make_limiter(request):
    """A factory for the limiter under test, so each test runs on Redis and in-process."""
    if request.param == "local":
        return LocalRateLimiter
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("prefix")

    def make(**kwargs) -> RedisRateLimiter:
        return RedisRateLimiter(client, key_prefix=prefix, **kwargs)

    return make


def _grant_times(limiter: RateLimiter, domains: list[str]) -> list[float]:
    times = []
    for domain in domains:
        limiter.acquire(domain)
        times.append(time.time())
    return times


def _process_worker(url, prefix, config, domains, ready, go, results):
    """Runs in a spawned process: its own connection and limiter object, the same Redis keys."""
    client = redis.Redis.from_url(url)
    limiter = RedisRateLimiter(client, key_prefix=prefix, **config)
    ready.put(os.getpid())
    go.wait(10)
    results.put(_grant_times(limiter, domains))
    client.close()


def _check_global_rate(times: list[float], start: float, *, rate: float, burst: int) -> None:
    times = sorted(times)
    n = len(times)
    expected = (n - burst) / rate
    elapsed = times[-1] - start
    assert expected - TOLERANCE <= elapsed <= expected + 0.5, (elapsed, expected)
    # After the burst, demand is continuous: no 1-second window may hold more than rate + 1.
    for i in range(burst, n):
        in_window = sum(1 for t in times[i:] if t < times[i] + 1.0)
        assert in_window <= rate + 1, (i, in_window)


def test_global_rate_across_threads_and_processes(redis_client, prefix):
    rate, burst = 20, 20  # default burst: one second's worth
    config = {"per_second": rate, "per_domain_per_second": None}
    thread_domains = [[f"t{t}-{i}.example" for i in range(8)] for t in range(4)]
    process_domains = [[f"p{p}-{i}.example" for i in range(14)] for p in range(2)]
    n = sum(map(len, thread_domains + process_domains))

    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    processes = [
        ctx.Process(target=_process_worker, args=(REDIS_URL, prefix, config, domains, ready, go, results))
        for domains in process_domains
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=30)
        limiter = RedisRateLimiter(redis_client, key_prefix=prefix, **config)
        thread_times: list[list[float]] = []
        threads = [
            threading.Thread(target=lambda d=domains: thread_times.append(_grant_times(limiter, d)))
            for domains in thread_domains
        ]
        start = time.time()
        go.set()
        for thread in threads:
            thread.start()
        process_times = [results.get(timeout=15) for _ in processes]
        for thread in threads:
            thread.join(15)
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
    times = [t for chunk in thread_times + process_times for t in chunk]
    assert len(times) == n
    _check_global_rate(times, start, rate=rate, burst=burst)


def test_local_global_rate_across_threads():
    rate, burst = 20, 20
    limiter = LocalRateLimiter(per_second=rate, per_domain_per_second=None)
    thread_times: list[list[float]] = []
    threads = [
        threading.Thread(
            target=lambda t=t: thread_times.append(_grant_times(limiter, [f"t{t}-{i}.example" for i in range(12)]))
        )
        for t in range(4)
    ]
    start = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    times = [t for chunk in thread_times for t in chunk]
    assert len(times) == 48
    _check_global_rate(times, start, rate=rate, burst=burst)


def test_per_domain_rate(make_limiter):
    limiter = make_limiter(per_second=1000, per_domain_per_second=5)
    start = time.monotonic()
    for _ in range(15):
        limiter.acquire("newsroom.example")
    one_domain = time.monotonic() - start
    # 5 at once (one second's burst), then one every 0.2 s (4 a second would take 2.5 s).
    assert 2.0 - TOLERANCE <= one_domain <= 2.0 + STALL

    start = time.monotonic()
    waited = [limiter.acquire(f"outlet{i}.example") for i in range(15)]
    assert waited == [0.0] * 15
    assert time.monotonic() - start < 1.0  # 15 quick calls; a sleep for each would take 3 s


def test_both_or_neither(make_limiter):
    # Global: 2/s holding 3; each domain: one per 5 s, holding 1.
    limiter = make_limiter(per_second=2, per_domain_per_second=0.2, burst=1.5)
    assert limiter.try_acquire("a.example") == 0.0
    for _ in range(5):
        assert 4.0 < limiter.try_acquire("a.example") <= 5.0  # the domain refuses...
    assert limiter.try_acquire("b.example") == 0.0  # ...without having eaten global slots
    assert limiter.try_acquire("c.example") == 0.0
    wait = limiter.try_acquire("d.example")  # now the global bucket refuses
    assert 0.0 < wait <= 0.5
    time.sleep(wait)
    # d's own bucket was not touched by the refusal, or it would now wait about 5 s.
    assert limiter.try_acquire("d.example") == 0.0


def test_domains_compared_lowercased(make_limiter):
    limiter = make_limiter(per_second=None, per_domain_per_second=1, burst=0)
    assert limiter.try_acquire("Gmail.COM") == 0.0
    assert limiter.try_acquire("gmail.com.") > 0.5
    assert limiter.try_acquire(" GMAIL.com ") > 0.5
    assert limiter.try_acquire("other.example") == 0.0
    with pytest.raises(ValueError):
        limiter.try_acquire("  ")


def test_domain_overrides(make_limiter):
    limiter = make_limiter(per_second=None, per_domain_per_second=2, domain_overrides={"Slow.Example": 0.25}, burst=0)
    assert limiter.try_acquire("slow.example") == 0.0
    assert 3.0 < limiter.try_acquire("SLOW.example") <= 4.0
    started = time.monotonic()
    assert limiter.try_acquire("fast.example") == 0.0
    assert_refused_until(limiter, "fast.example", 0.5, started)


def test_override_without_a_default_domain_rate(make_limiter):
    limiter = make_limiter(per_second=None, per_domain_per_second=None, domain_overrides={"gmail.com": 1}, burst=0)
    assert limiter.try_acquire("gmail.com") == 0.0
    assert limiter.try_acquire("gmail.com") > 0.5
    assert all(limiter.try_acquire("other.example") == 0.0 for _ in range(50))


def test_burst_capacity(make_limiter):
    limiter = make_limiter(per_second=None, per_domain_per_second=2)  # default: one second's worth
    started = time.monotonic()
    assert [limiter.try_acquire("x.example") for _ in range(2)] == [0.0] * 2
    assert_refused_until(limiter, "x.example", 0.5, started)
    larger = make_limiter(per_second=None, per_domain_per_second=2, burst=2.0)
    started = time.monotonic()
    assert [larger.try_acquire("x2.example") for _ in range(4)] == [0.0] * 4
    assert_refused_until(larger, "x2.example", 0.5, started)
    small = make_limiter(per_second=None, per_domain_per_second=0.5)  # less than one per second: holds 1
    started = time.monotonic()
    assert small.try_acquire("y.example") == 0.0
    assert_refused_until(small, "y.example", 2.0, started) > 0.0


def test_unlimited_never_waits(make_limiter):
    limiter = make_limiter(per_second=None, per_domain_per_second=None)
    assert all(limiter.try_acquire("gmail.com") == 0.0 for _ in range(200))
    assert limiter.acquire("gmail.com", timeout=0) == 0.0
    none = NoRateLimit()
    assert all(none.acquire("gmail.com", timeout=0) == 0.0 for _ in range(200))
    assert none.try_acquire("gmail.com") == 0.0


def test_unlimited_in_one_dimension(make_limiter):
    # No global limit: only each domain's own rate applies.
    limiter = make_limiter(per_second=None, per_domain_per_second=1, burst=0)
    assert [limiter.try_acquire(f"d{i}.example") for i in range(50)] == [0.0] * 50
    assert limiter.try_acquire("d0.example") > 0.5
    # No domain limit: only the global rate applies.
    limiter = make_limiter(per_second=1, per_domain_per_second=None, burst=0)
    assert limiter.try_acquire("a.example") == 0.0
    assert limiter.try_acquire("b.example") > 0.5


def test_acquire_timeout(make_limiter):
    limiter = make_limiter(per_second=None, per_domain_per_second=2, burst=0)
    started = time.monotonic()
    assert limiter.acquire("a.example") == 0.0
    granted = time.monotonic()
    with pytest.raises(RateLimitTimeout) as raised:
        limiter.acquire("a.example", timeout=0.05)
    refused = time.monotonic()
    # Refused at once: sleeping until the slot would take until 0.5 s after the grant.
    assert refused - granted < 0.5 - TOLERANCE
    assert raised.value.domain == "a.example"
    assert 0.5 - (refused - started) - TOLERANCE < raised.value.wait <= 0.5 + TOLERANCE
    with pytest.raises(RateLimitTimeout):
        limiter.acquire("a.example", timeout=0)
    # The refusals took nothing: the next slot is still the one 0.5 s after the first grant, not
    # 1.0 s or 1.5 s (one slot more per refusal).
    limiter.acquire("a.example", timeout=1.0)
    assert 0.5 - TOLERANCE <= time.monotonic() - started < 0.5 + STALL


def test_redis_state_is_shared_and_expires(redis_client, prefix):
    config = {"per_second": 2, "per_domain_per_second": 1, "burst": 0}
    first = RedisRateLimiter(redis_client, key_prefix=prefix, **config)
    other_client = redis.Redis.from_url(REDIS_URL)
    try:
        second = RedisRateLimiter(other_client, key_prefix=prefix, **config)
        assert first.try_acquire("shared.example") == 0.0
        assert 0.5 < second.try_acquire("shared.example") <= 1.0
    finally:
        other_client.close()
    # Each key lives only until its bucket is full again, so idle domains vanish.
    assert 0 < redis_client.pttl(f"{prefix}:domain:shared.example") <= 1000
    assert 0 < redis_client.pttl(f"{prefix}:global") <= 500
    time.sleep(1.05)
    assert list(redis_client.scan_iter(match=f"{prefix}:*")) == []


def test_redis_unlimited_touches_nothing(redis_client, prefix):
    limiter = RedisRateLimiter(redis_client, key_prefix=prefix, per_second=None, per_domain_per_second=None)
    limiter.acquire("gmail.com")
    assert list(redis_client.scan_iter(match=f"{prefix}:*")) == []


def test_local_forgets_idle_domains():
    now = [100.0]
    limiter = LocalRateLimiter(per_second=None, per_domain_per_second=1, clock=lambda: now[0])
    limiter._sweep_at = 4
    for i in range(4):
        assert limiter.try_acquire(f"d{i}.example") == 0.0
    now[0] += 5.0
    assert limiter.try_acquire("fresh.example") == 0.0
    assert list(limiter._domain_tats) == ["fresh.example"]


def test_limiters_satisfy_the_protocol(redis_client, prefix):
    assert isinstance(LocalRateLimiter(per_second=1, per_domain_per_second=None), RateLimiter)
    assert isinstance(RedisRateLimiter(redis_client, per_second=1, per_domain_per_second=None), RateLimiter)
    assert isinstance(NoRateLimit(), RateLimiter)


@pytest.mark.parametrize(
    "bad", [{"per_second": 0}, {"per_second": -1}, {"per_domain_per_second": float("inf")}, {"burst": -1}]
)
def test_bad_rates_are_refused(bad):
    kwargs = {"per_second": None, "per_domain_per_second": None} | bad
    with pytest.raises(ValueError):
        LocalRateLimiter(**kwargs)
    with pytest.raises(ValueError):
        LocalRateLimiter(per_second=None, per_domain_per_second=None, domain_overrides={"gmail.com": 0})


# --- configuration -----------------------------------------------------------------------------


def test_parse_domain_overrides():
    assert parse_domain_overrides("") == {}
    assert parse_domain_overrides("gmail.com=5, Yahoo.COM = 2.5,") == {"gmail.com": 5.0, "yahoo.com": 2.5}
    assert parse_domain_overrides("bücher.de=1") == {"xn--bcher-kva.de": 1.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gmail.com=fast", "'gmail.com=fast' is not a number"),
        ("gmail.com=", "'gmail.com=' is not a number"),
        ("gmail.com", "'gmail.com' is not domain=rate (for example gmail.com=5)"),
        ("=5", "'=5' is not domain=rate (for example gmail.com=5)"),
        ("gmail.com=0", "'gmail.com=0' must be a positive number of messages per second"),
        ("gmail.com=nan", "'gmail.com=nan' must be a positive number of messages per second"),
        ("gmail.com=5,GMAIL.com=2", "'GMAIL.com' is given more than once"),
    ],
)
def test_parse_domain_overrides_errors(text, message):
    with pytest.raises(UserError) as raised:
        parse_domain_overrides(text)
    assert str(raised.value) == f"DISTRIBUTE_RATE_DOMAIN_OVERRIDES: {message}"


def _settings(**values) -> SimpleNamespace:
    base = {"broker_url": None, "rate_per_second": None, "rate_per_domain": None, "rate_domain_overrides": ""}
    return SimpleNamespace(**(base | values))


def test_from_settings_without_rates():
    assert isinstance(rate_limiter_from_settings(_settings(broker_url="redis://127.0.0.1:6379/13")), NoRateLimit)
    # Settings before (or without) the rate fields: no limit.
    assert isinstance(rate_limiter_from_settings(Settings(database_url="sqlite:///x.db")), NoRateLimit)


def test_from_settings_reads_settings(redis_client):
    settings = Settings(
        database_url="sqlite:///x.db", broker_url=REDIS_URL, rate_per_second=20, rate_domain_overrides="gmail.com=5"
    )
    limiter = rate_limiter_from_settings(settings, redis_client=redis_client)
    assert isinstance(limiter, RedisRateLimiter)
    assert (limiter._limits.per_second, limiter._limits.per_domain) == (20.0, None)
    assert limiter._limits.overrides == {"gmail.com": 5.0}


def test_from_settings_embedded_is_local():
    limiter = rate_limiter_from_settings(_settings(rate_per_second=20, rate_domain_overrides="gmail.com=5"))
    assert isinstance(limiter, LocalRateLimiter)
    assert limiter.try_acquire("gmail.com") == 0.0


def test_from_settings_redis_broker(redis_client, prefix):
    limiter = rate_limiter_from_settings(
        _settings(broker_url=REDIS_URL, rate_per_domain=5, rate_domain_overrides="gmail.com=2")
    )
    assert isinstance(limiter, RedisRateLimiter)
    assert limiter.client.get_connection_kwargs()["db"] == redis_client.get_connection_kwargs()["db"]
    assert limiter.key_prefix == "distribute:rate"
    limiter.client.close()
    given = rate_limiter_from_settings(_settings(rate_per_second=5), redis_client=redis_client)
    assert isinstance(given, RedisRateLimiter) and given.client is redis_client


def test_from_settings_other_broker_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="distribute.sending.ratelimit"):
        limiter = rate_limiter_from_settings(_settings(broker_url="amqp://guest@localhost//", rate_per_second=5))
    assert isinstance(limiter, LocalRateLimiter)
    assert "per process" in caplog.text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rate_per_second": 0}, "DISTRIBUTE_RATE_PER_SECOND: 0 must be a positive number of messages per second"),
        ({"rate_per_domain": "fast"}, "DISTRIBUTE_RATE_PER_DOMAIN: 'fast' is not a number"),
        ({"rate_domain_overrides": "gmail.com=x"}, "DISTRIBUTE_RATE_DOMAIN_OVERRIDES: 'gmail.com=x' is not a number"),
    ],
)
def test_from_settings_bad_values(values, message):
    with pytest.raises(UserError) as raised:
        rate_limiter_from_settings(_settings(**values))
    assert str(raised.value) == message
