"""Send-rate limits shared by every worker: messages per second overall and per recipient domain.

A campaign that mails a million people must not get the organisation throttled or blocked by a
receiving provider, so each send first calls `acquire(domain)`, which blocks until one message to
that domain may go under both the global and the per-domain rate.

Algorithm: GCRA (the generic cell rate algorithm, a token bucket kept as one number). Each bucket
stores its TAT, the "theoretical arrival time" at which it would be empty again. For a rate r the
emission interval is T = 1/r; with a burst capacity of B messages the tolerance is
tau = (B - 1) * T. A message arriving at `now` conforms when max(TAT, now) - tau <= now; taking it
sets TAT = max(TAT, now) + T. Otherwise it must wait max(TAT, now) - tau - now seconds. A key whose
TAT has passed is equivalent to a missing key, so each key expires exactly then: idle domains
vanish from Redis by themselves.

Burst: `burst` is in seconds of rate, default 1.0, so each bucket holds max(1, rate * burst)
messages: after an idle spell, 5/s lets 5 messages go at once, then one every 0.2 s. `burst=0`
means strictly one message per interval. The guarantee is the token bucket's: any span of W
seconds holds at most rate * W + B grants, and the long-run rate is exact. Credit comes back only
when no one asks for a slot in time: after idleness, or when pollers (below) arrive late, so
under steady demand a 1-second window holds about rate + 1 grants. The burst also absorbs that
lateness: with burst=0 a slot nobody claimed on time is lost, and throughput falls below the rate.

Both-or-neither: the global bucket and the domain bucket are judged in one step, and a message is
taken from both only if both allow it. A refusal from the domain bucket must not eat a global
slot (or one slow domain would starve the rest of the campaign), and vice versa. In Redis that
step is one Lua script, atomic on the server, reading the clock with TIME there, so machines with
skewed clocks share one timeline; the client only ever turns the returned wait into a sleep.

Waiting is polling: `try_acquire` takes nothing when it refuses and says how long to wait, and
`acquire` sleeps that long and asks again. Reserving a future slot instead would need the global
bucket to book a time far ahead for a slow domain, which GCRA's single TAT cannot hold without
blocking every other domain until then. Contending waiters are therefore not served in FIFO order,
and each retry costs one Redis round trip; with a few dozen workers that is negligible.

If Redis is unreachable, `acquire` raises redis' ConnectionError: sends stop (the task retries)
rather than going out unlimited.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any, Mapping, Protocol, runtime_checkable

import idna

from distribute.errors import UserError

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

DEFAULT_BURST = 1.0  # seconds of rate each bucket may hold
DEFAULT_KEY_PREFIX = "distribute:rate"


class RateLimitTimeout(TimeoutError):
    """acquire(timeout=…) would have had to wait longer than the timeout; nothing was taken."""

    def __init__(self, domain: str, wait: float, timeout: float) -> None:
        super().__init__(f"sending to {domain} would wait {wait:.3f}s, longer than the {timeout:.3f}s allowed")
        self.domain = domain
        self.wait = wait
        self.timeout = timeout


@runtime_checkable
class RateLimiter(Protocol):
    def acquire(self, domain: str, *, timeout: float | None = None) -> float:
        """Block until one message to `domain` may be sent under both the global and the
        per-domain rate; return the seconds waited. With timeout, raise RateLimitTimeout
        (taking nothing) if it would wait longer."""
        ...

    def try_acquire(self, domain: str) -> float:
        """0.0 if a slot was taken now, else the seconds to wait before trying again (takes nothing)."""
        ...


class _Limits:
    """The rates, validated once: which buckets a domain's message is judged by."""

    def __init__(
        self,
        per_second: float | None,
        per_domain_per_second: float | None,
        domain_overrides: Mapping[str, float] | None,
        burst: float | None,
    ) -> None:
        self.burst = DEFAULT_BURST if burst is None else float(burst)
        if not math.isfinite(self.burst) or self.burst < 0:
            raise ValueError(f"burst must be a finite number of seconds >= 0, not {burst!r}")
        self.per_second = _check_rate("per_second", per_second)
        self.per_domain = _check_rate("per_domain_per_second", per_domain_per_second)
        self.overrides: dict[str, float] = {}
        for domain, rate in (domain_overrides or {}).items():
            self.overrides[normalise_domain(domain)] = _check_rate(f"domain_overrides[{domain!r}]", rate)

    def domain_rate(self, domain: str) -> float | None:
        return self.overrides.get(domain, self.per_domain)

    def bucket(self, rate: float) -> tuple[float, float]:
        """(emission interval, tolerance) in seconds for a rate."""
        interval = 1.0 / rate
        capacity = max(1.0, rate * self.burst)
        return interval, (capacity - 1.0) * interval


def _check_rate(name: str, rate: float | None) -> float | None:
    if rate is None:
        return None
    rate = float(rate)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"{name} must be a positive number of messages per second or None, not {rate!r}")
    return rate


def normalise_domain(domain: str) -> str:
    """The form domains are compared in: trimmed, no trailing dot, lowercased, IDNA (as addresses store them)."""
    cleaned = domain.strip().rstrip(".").lower()
    if not cleaned:
        raise ValueError("a recipient domain is required")
    if not cleaned.isascii():
        try:
            cleaned = idna.encode(cleaned, uts46=True).decode("ascii")
        except idna.IDNAError:  # keep the lowercased form: it still matches itself
            pass
    return cleaned


def _acquire(limiter: RateLimiter, domain: str, timeout: float | None) -> float:
    """The shared blocking loop: ask, and sleep for as long as the answer says.

    Returns 0.0 when the first answer grants, else the time from the first ask to the grant.
    """
    start = time.monotonic()
    first = True
    while True:
        wait = limiter.try_acquire(domain)
        if wait <= 0.0:
            return 0.0 if first else time.monotonic() - start
        first = False
        waited = time.monotonic() - start
        if timeout is not None and waited + wait > timeout:
            raise RateLimitTimeout(domain, waited + wait, timeout)
        time.sleep(wait)


# KEYS: one per bucket; ARGV: for each, its emission interval and tolerance in microseconds.
# Server time in microseconds is about 1.7e15, inside a double's exact integer range (2^53);
# TATs are written with %.17g so that none of that precision is lost between calls.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tau = tonumber(ARGV[2 * i])
  local tat = math.max(tonumber(redis.call('GET', key) or 0), now)
  local late = tat - tau - now
  if late > wait then wait = late end
  tats[i] = tat + interval
end
if wait > 0 then
  return math.ceil(wait)
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%.17g', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000))
end
return 0
"""


class RedisRateLimiter:
    """Production: bucket state in Redis, so every worker process on every machine shares it.

    Keys: `{key_prefix}:global` and `{key_prefix}:domain:{domain}`, each expiring when its bucket
    is full again. Workers configured with different rates still share the same buckets; each
    judges by its own rates, so a change of configuration takes effect as workers restart.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        per_second: float | None,
        per_domain_per_second: float | None,
        domain_overrides: dict[str, float] | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        burst: float | None = None,
    ) -> None:
        self.client = client
        self.key_prefix = key_prefix
        self._limits = _Limits(per_second, per_domain_per_second, domain_overrides, burst)
        self._script = client.register_script(_GCRA_LUA)
        self._global_key = f"{key_prefix}:global"
        self._global_args = (
            _micros(self._limits.bucket(self._limits.per_second)) if self._limits.per_second is not None else None
        )

    def try_acquire(self, domain: str) -> float:
        domain = normalise_domain(domain)
        keys: list[str] = []
        args: list[float] = []
        if self._global_args is not None:
            keys.append(self._global_key)
            args.extend(self._global_args)
        rate = self._limits.domain_rate(domain)
        if rate is not None:
            keys.append(f"{self.key_prefix}:domain:{domain}")
            args.extend(_micros(self._limits.bucket(rate)))
        if not keys:
            return 0.0
        wait_us = int(self._script(keys=keys, args=args))
        return wait_us / 1_000_000

    def acquire(self, domain: str, *, timeout: float | None = None) -> float:
        return _acquire(self, domain, timeout)


def _micros(bucket: tuple[float, float]) -> tuple[float, float]:
    return bucket[0] * 1_000_000, bucket[1] * 1_000_000


class LocalRateLimiter:
    """Embedded mode: the same GCRA in this process only, behind a lock, on time.monotonic()."""

    _SWEEP_AT = 1024  # drop idle domains once this many are tracked

    def __init__(
        self,
        *,
        per_second: float | None,
        per_domain_per_second: float | None,
        domain_overrides: dict[str, float] | None = None,
        burst: float | None = None,
        clock=time.monotonic,
    ) -> None:
        self._limits = _Limits(per_second, per_domain_per_second, domain_overrides, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._global_tat = 0.0
        self._domain_tats: dict[str, float] = {}
        self._sweep_at = self._SWEEP_AT

    def try_acquire(self, domain: str) -> float:
        domain = normalise_domain(domain)
        limits = self._limits
        domain_rate = limits.domain_rate(domain)
        if limits.per_second is None and domain_rate is None:
            return 0.0
        with self._lock:
            now = self._clock()
            wait = 0.0
            new_global = new_domain = None
            if limits.per_second is not None:
                interval, tau = limits.bucket(limits.per_second)
                tat = max(self._global_tat, now)
                wait = max(wait, tat - tau - now)
                new_global = tat + interval
            if domain_rate is not None:
                interval, tau = limits.bucket(domain_rate)
                tat = max(self._domain_tats.get(domain, 0.0), now)
                wait = max(wait, tat - tau - now)
                new_domain = tat + interval
            if wait > 0.0:
                return wait
            if new_global is not None:
                self._global_tat = new_global
            if new_domain is not None:
                self._domain_tats[domain] = new_domain
                if len(self._domain_tats) > self._sweep_at:
                    self._sweep(now)
            return 0.0

    def acquire(self, domain: str, *, timeout: float | None = None) -> float:
        return _acquire(self, domain, timeout)

    def _sweep(self, now: float) -> None:
        # A bucket whose TAT has passed is full again: forgetting it changes nothing.
        self._domain_tats = {d: tat for d, tat in self._domain_tats.items() if tat > now}
        self._sweep_at = max(self._SWEEP_AT, 2 * len(self._domain_tats))


class NoRateLimit:
    """No limit configured: every message may go at once."""

    def try_acquire(self, domain: str) -> float:
        return 0.0

    def acquire(self, domain: str, *, timeout: float | None = None) -> float:
        return 0.0


def parse_domain_overrides(text: str, *, variable: str = "DISTRIBUTE_RATE_DOMAIN_OVERRIDES") -> dict[str, float]:
    """Parse "gmail.com=5, yahoo.com=2" into {domain: messages per second}; UserError on bad syntax."""
    overrides: dict[str, float] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        domain, sep, value = item.partition("=")
        domain, value = domain.strip(), value.strip()
        if not sep or not domain:
            raise UserError(f"{variable}: {item!r} is not domain=rate (for example gmail.com=5)")
        try:
            rate = float(value)
        except ValueError:
            raise UserError(f"{variable}: {item!r} is not a number") from None
        if not (math.isfinite(rate) and rate > 0):
            raise UserError(f"{variable}: {item!r} must be a positive number of messages per second")
        key = normalise_domain(domain)
        if key in overrides:
            raise UserError(f"{variable}: {domain!r} is given more than once")
        overrides[key] = rate
    return overrides


def rate_limiter_from_settings(settings: Any, redis_client: redis.Redis | None = None) -> RateLimiter:
    """The limiter the configuration asks for.

    No rate set: NoRateLimit. With a Redis broker (or an explicit `redis_client`): RedisRateLimiter,
    shared by every worker. Otherwise LocalRateLimiter, which limits this process only.
    """
    per_second = _setting_rate(settings, "rate_per_second", "DISTRIBUTE_RATE_PER_SECOND")
    per_domain = _setting_rate(settings, "rate_per_domain", "DISTRIBUTE_RATE_PER_DOMAIN")
    overrides = parse_domain_overrides(getattr(settings, "rate_domain_overrides", "") or "")
    if per_second is None and per_domain is None and not overrides:
        return NoRateLimit()
    broker_url = getattr(settings, "broker_url", None) or ""
    if redis_client is None and broker_url.startswith(("redis://", "rediss://")):
        import redis

        redis_client = redis.Redis.from_url(broker_url)
    if redis_client is not None:
        return RedisRateLimiter(
            redis_client, per_second=per_second, per_domain_per_second=per_domain, domain_overrides=overrides
        )
    if broker_url and not broker_url.startswith("memory://"):
        # A broker other than Redis can still feed workers on several machines; each would then
        # keep its own limit and the organisation would send at a multiple of the configured rate.
        scheme = broker_url.split(":", 1)[0]  # not the whole URL: it may hold a password
        log.warning("rate limits are kept per process: the broker is not Redis", extra={"broker": scheme})
    return LocalRateLimiter(per_second=per_second, per_domain_per_second=per_domain, domain_overrides=overrides)


def _setting_rate(settings: Any, name: str, variable: str) -> float | None:
    value = getattr(settings, name, None)
    if value is None:
        return None
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{variable}: {value!r} is not a number") from None
    if not (math.isfinite(rate) and rate > 0):
        raise UserError(f"{variable}: {value!r} must be a positive number of messages per second")
    return rate
