"""Waking a lane: the flag that keeps a burst of accepts to one pending drain per channel and lane.

A wake costs one ``SET NX PX`` on the shared cache (Redis): the first accept of a burst sets
the flag and publishes a drain task, the others find the flag set and publish nothing. The
drain clears the flag when it finds its lane empty, then claims once more, so a message that
committed while the flag was still set is never left behind (see
``hub.messaging.dispatch.lane_drain``). The flag expires after ``HUB_DISPATCH_WAKE_TTL_SECONDS``
(a running drain keeps refreshing it), so a drain lost with its worker or its broker delays
the next wake by that much at most; the sweeper remains the safety net.

Without a shared cache (development, locmem) flags cannot be seen across processes: every
wake publishes a drain, and the drains' claims still take whatever is queued as one batch.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

_PREFIX = "hub:dispatch:wake"
# Cache backends whose entries live in one process only: no flag can be shared through them.
_PROCESS_LOCAL = ("LocMemCache", "DummyCache")


def wake_key(channel: str, lane: str) -> str:
    return f"{_PREFIX}:{channel}:{lane}"


def _shared() -> bool:
    backend: str = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(_PROCESS_LOCAL)


def _ttl() -> int:
    return max(1, int(settings.HUB_DISPATCH_WAKE_TTL_SECONDS))


def wake_flag_take(channel: str, lane: str) -> bool:
    """True when no drain is pending for this lane: the caller must now publish one."""
    if not _shared():
        return True
    return bool(cache.add(wake_key(channel, lane), 1, timeout=_ttl()))


def wake_flag_refresh(channel: str, lane: str) -> None:
    """A drain still at work keeps its flag from expiring."""
    if _shared():
        cache.set(wake_key(channel, lane), 1, timeout=_ttl())


def wake_flag_clear(channel: str, lane: str) -> None:
    if _shared():
        cache.delete(wake_key(channel, lane))


def wake_flags_clear_all() -> None:
    """Forget every lane's wake: after the send queues were purged, the drains the flags stood
    for are gone, and the next accept must publish a new one."""
    from hub.celery import CHANNELS, LANES

    if _shared():
        cache.delete_many([wake_key(channel, lane) for channel in CHANNELS for lane in LANES])
