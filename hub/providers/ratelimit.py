"""Token buckets per provider (or per sender), shared by every worker through Redis.

A send reserves a token; when the bucket is empty the caller learns how long to wait. A wait
up to ``max_wait`` is reserved (the caller sleeps, then sends); a longer one reserves nothing,
and the message waits in the database instead. Without ``REDIS_URL`` (development) the
bucket lives in this process.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Any

import redis
from django.conf import settings

# KEYS[1] bucket; ARGV rate/s, burst, tokens wanted, max wait. Returns the wait in seconds
# as a string: "0" granted now, "<w>" granted after w seconds, "-<w>" refused (w too long).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local after = tokens - wanted
local wait = 0
if after < 0 then wait = -after / rate end
if wait > max_wait then
  redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
  redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
  return '-' .. tostring(wait)
end
redis.call('HSET', KEYS[1], 'tokens', after, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


@cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


_local_lock = threading.Lock()
_local_buckets: dict[str, tuple[float, float]] = {}


def _take_local(key: str, rate: float, burst: float, wanted: float, max_wait: float) -> float:
    with _local_lock:
        now = time.monotonic()
        tokens, at = _local_buckets.get(key, (burst, now))
        tokens = min(burst, tokens + max(0.0, now - at) * rate)
        wait = max(0.0, (wanted - tokens) / rate)
        if wait > max_wait:
            _local_buckets[key] = (tokens, now)
            return -wait
        _local_buckets[key] = (tokens - wanted, now)
        return wait


def rate_limit_take(
    *, key: str, rate: float, burst: float, wanted: float = 1, max_wait: float = 1.0
) -> float:
    """Reserve ``wanted`` tokens. Returns the seconds to sleep before sending (0: at once), or a
    negative number ``-w`` when the wait ``w`` would exceed ``max_wait`` (nothing reserved)."""
    burst = max(burst, wanted, rate)
    url = settings.REDIS_URL
    if not url:
        return _take_local(key, rate, burst, wanted, max_wait)
    raw: Any = _redis(url).eval(_TAKE, 1, f"hub:ratelimit:{key}", rate, burst, wanted, max_wait)
    return float(raw.decode() if isinstance(raw, bytes) else raw)


def rate_limit_reset(key: str) -> None:
    """Forget a bucket (tests, or an operator changing the rate)."""
    _local_buckets.pop(key, None)
    if settings.REDIS_URL:
        _redis(settings.REDIS_URL).delete(f"hub:ratelimit:{key}")
