"""Waking a lane: the flag that keeps a burst of accepts to one pending drain per channel and lane.

A wake costs one ``SET NX PX`` on Redis (``REDIS_URL``): the first accept of a burst sets
the flag and publishes a drain task, the others find the flag set and publish nothing. The
drain clears the flag when it finds its lane empty, then claims once more, so a message that
committed while the flag was still set is never left behind (see
``hub.messaging.dispatch.lane_drain``). The flag expires after ``HUB_DISPATCH_WAKE_TTL_SECONDS``
(a running drain keeps refreshing it), so a drain lost with its worker or its broker delays
the next wake by that much at most; the sweeper remains the safety net.

Without ``REDIS_URL`` (development) there is no flag: every wake publishes a drain, and the
drains' claims still take whatever is queued as one batch (an empty claim is one query).
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings

_PREFIX = "hub:dispatch:wake"


def wake_key(channel: str, lane: str) -> str:
    return f"{_PREFIX}:{channel}:{lane}"


@cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _client() -> redis.Redis | None:
    """Redis itself, not the Django cache: every process (web, workers, beat) must see the same
    key, whatever cache key prefix or version each was given."""
    url: str = settings.REDIS_URL
    return _redis(url) if url else None


def _ttl_ms() -> int:
    return max(1, int(settings.HUB_DISPATCH_WAKE_TTL_SECONDS * 1000))


def wake_flag_take(channel: str, lane: str) -> bool:
    """True when no drain is pending for this lane: the caller must now publish one."""
    client = _client()
    if client is None:
        return True
    return bool(client.set(wake_key(channel, lane), 1, nx=True, px=_ttl_ms()))


def wake_flag_refresh(channel: str, lane: str) -> None:
    """A drain still at work keeps its flag from expiring."""
    client = _client()
    if client is not None:
        client.set(wake_key(channel, lane), 1, px=_ttl_ms())


def wake_flag_clear(channel: str, lane: str) -> None:
    client = _client()
    if client is not None:
        client.delete(wake_key(channel, lane))


def wake_flags_clear_all() -> None:
    """Forget every lane's wake: after the send queues were purged, the drains the flags stood
    for are gone, and the next accept must publish a new one."""
    from hub.celery import CHANNELS, LANES

    client = _client()
    if client is not None:
        client.delete(*(wake_key(channel, lane) for channel in CHANNELS for lane in LANES))
