"""Per-key token bucket and daily quota: in Redis when ``REDIS_URL`` is set (shared by every
web process, atomic by Lua script), else in Django's cache (one process's memory in
development).

A bucket holds at most ``burst`` tokens and refills at ``rate_per_minute / 60`` a second;
a request takes one token or is refused with the seconds until one is there.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as django_cache
from redis.exceptions import NoScriptError

# Take ``cost`` tokens from the bucket ``key`` (or refuse, with the seconds until there are
# enough): {allowed (1 or 0), wait}.
_BUCKET_TAKE = """
local function take(key, rate, burst, cost)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  local allowed = 0
  local wait = 0
  if tokens >= cost then
    tokens = tokens - cost
    allowed = 1
  else
    wait = (cost - tokens) / rate
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('EXPIRE', key, math.ceil(burst / rate) + 60)
  return {allowed, tostring(wait)}
end
"""

_BUCKET_SCRIPT = (
    _BUCKET_TAKE
    + """
return take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
"""
)

# KEYS: the bucket, a key that must hold ARGV[4], a key that must not exist, then the keys to
# read. Reads them (MGET) and takes one token only while both conditions hold:
# {allowed (1, 0, or -1 when nothing was taken), wait, the values read}.
_READ_AND_TAKE_SCRIPT = (
    _BUCKET_TAKE
    + """
local values = redis.call('MGET', unpack(KEYS, 4))
local taken = {-1, '0'}
if redis.call('GET', KEYS[2]) == ARGV[4] and redis.call('EXISTS', KEYS[3]) == 0 then
  taken = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 1)
end
return {taken[1], taken[2], values}
"""
)

_QUOTA_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, used}
"""

_local_lock = threading.Lock()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the request would be allowed


@cache
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _client() -> Any | None:
    url: str = settings.REDIS_URL
    return _redis(url) if url else None


class _Script:
    """A Lua script sent by its SHA1 (``EVALSHA``), not its whole text with every call; whole
    (``EVAL``, which loads it again) when the server does not have it (restarted, flushed)."""

    def __init__(self, client: Any, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest().encode()  # noqa: S324 - Redis names scripts so

    def __call__(self, key: str, *args: Any) -> Any:
        return self.call([key], *args)

    def call(self, keys: list[Any], *args: Any) -> Any:
        """Run with ``keys`` and ``args`` (given as bytes where the caller can: redis-py then
        sends them as they are, without working out each one's type)."""
        try:
            return self.client.evalsha(self.sha, b"%d" % len(keys), *keys, *args)
        except NoScriptError:
            return self.client.eval(self.source, len(keys), *keys, *args)


@cache
def _script(url: str, source: str) -> _Script:
    return _Script(_redis(url), source)


def _bucket_rate_and_burst(rate_per_minute: int, burst: int, cost: int) -> tuple[float, int]:
    """Tokens a second, and the bucket's size (never below one request's cost)."""
    return max(rate_per_minute, 1) / 60.0, max(burst, cost, 1)


def bucket_take(*, key: str, rate_per_minute: int, burst: int, cost: int = 1) -> Decision:
    """Take ``cost`` tokens from the bucket ``key``; refuse (with a wait) if there are not enough."""
    rate, burst = _bucket_rate_and_burst(rate_per_minute, burst, cost)
    url: str = settings.REDIS_URL
    if url:
        allowed, wait = _script(url, _BUCKET_SCRIPT)(f"sb:bucket:{key}", rate, burst, cost)
        return Decision(bool(allowed), float(wait))
    with _local_lock:
        now = time.monotonic()
        tokens, at = django_cache.get(f"sb:bucket:{key}", (float(burst), now))
        tokens = min(float(burst), tokens + max(0.0, now - at) * rate)
        if tokens >= cost:
            django_cache.set(f"sb:bucket:{key}", (tokens - cost, now), timeout=int(burst / rate) + 60)
            return Decision(True)
        django_cache.set(f"sb:bucket:{key}", (tokens, now), timeout=int(burst / rate) + 60)
        return Decision(False, (cost - tokens) / rate)


@dataclass(frozen=True)
class TakeIf:
    """One token of the bucket ``key`` (named as for bucket_take), to be taken only while the
    Redis key ``holding`` holds ``value`` and the Redis key ``absent`` does not exist."""

    key: str
    rate_per_minute: int
    burst: int
    holding: bytes
    value: int
    absent: bytes


def bucket_take_reading(*, reads: list[bytes], take: TakeIf | None) -> tuple[Decision | None, list[Any]]:
    """The raw values of the Redis keys ``reads`` (None where a key does not exist) and, in the
    same round trip, ``take``'s token if its conditions hold then: its decision, or None when
    nothing was taken (a condition did not hold, or no ``take``). Needs ``REDIS_URL``; a Redis
    failure is raised."""
    url: str = settings.REDIS_URL
    if take is None:
        return None, list(_redis(url).mget(reads))
    rate, burst = _bucket_rate_and_burst(take.rate_per_minute, take.burst, 1)
    keys = [f"sb:bucket:{take.key}".encode(), take.holding, take.absent, *reads]
    args = (b"%r" % rate, b"%d" % burst, b"1", b"%d" % take.value)
    allowed, wait, values = _script(url, _READ_AND_TAKE_SCRIPT).call(keys, *args)
    return (None if allowed < 0 else Decision(bool(allowed), float(wait))), list(values)


def seconds_to_utc_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


def quota_consume(*, key: str, limit: int, cost: int = 1) -> Decision:
    """Count ``cost`` against today's (UTC) quota for ``key``; refuse, counting nothing, if it
    would go over ``limit``. The refusal's wait is the time to midnight UTC."""
    day = datetime.now(UTC).strftime("%Y%m%d")
    name = f"sb:quota:{key}:{day}"
    ttl = seconds_to_utc_midnight() + 3600
    url: str = settings.REDIS_URL
    if url:
        allowed, _ = _script(url, _QUOTA_SCRIPT)(name, cost, limit, ttl)
        return Decision(bool(allowed), 0.0 if allowed else float(seconds_to_utc_midnight()))
    with _local_lock:
        used = int(django_cache.get(name, 0))
        if used + cost > limit:
            return Decision(False, float(seconds_to_utc_midnight()))
        django_cache.set(name, used + cost, timeout=ttl)
        return Decision(True)


def quota_refund(*, key: str, cost: int = 1) -> None:
    """Give back what quota_consume took, for a request that was then not accepted."""
    day = datetime.now(UTC).strftime("%Y%m%d")
    name = f"sb:quota:{key}:{day}"
    client = _client()
    if client is not None:
        client.decrby(name, cost)
        return
    with _local_lock:
        used = int(django_cache.get(name, 0))
        django_cache.set(name, max(0, used - cost), timeout=seconds_to_utc_midnight() + 3600)
