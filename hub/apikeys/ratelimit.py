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

_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
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
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {allowed, tostring(wait)}
"""

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
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts so

    def __call__(self, key: str, *args: Any) -> Any:
        try:
            return self.client.evalsha(self.sha, 1, key, *args)
        except NoScriptError:
            return self.client.eval(self.source, 1, key, *args)


@cache
def _script(url: str, source: str) -> _Script:
    return _Script(_redis(url), source)


def bucket_take(*, key: str, rate_per_minute: int, burst: int, cost: int = 1) -> Decision:
    """Take ``cost`` tokens from the bucket ``key``; refuse (with a wait) if there are not enough."""
    rate = max(rate_per_minute, 1) / 60.0
    burst = max(burst, cost, 1)
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
