"""Per-process caches that stay true across processes, for what every request reads and
rarely changes (API keys, live templates).

Each cache belongs to a named *generation*, a counter in the shared cache (Redis). Changing a
cached thing bumps its generation once the change commits (``generation_bump``, connected to
the models' save and delete signals); each process reads the counter (one round trip to Redis,
no query) and drops what it cached under an older generation. So a revoked key is refused, and
a newly approved version is sent, from the next request on, in every process.

Within a request, the first counter read fetches every known counter at once (one ``MGET``)
and the request keeps them (a key, a template, the rules and the callback endpoints cost one
round trip, not four); a bump made by the request itself is read again at once. Outside a
request (workers, commands) each read is its own round trip. An API request's first read is
its authentication's (``generations_read_with``): read from Redis itself, as the cache names
and stores the counters, in the script that also checks the client's address and takes the
key's rate token (hub.api.throttling), the request's one round trip to Redis.

Without a shared cache (local memory is one process's view) nothing is cached: every read goes
to the database; so too while the cache server cannot be reached. As a backstop for a bump lost
to a cache server unreachable at that moment, an entry is also dropped after ``MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from django.core.signals import request_finished, request_started, setting_changed
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

V = TypeVar("V")
_LOCAL_BACKENDS = ("locmem", "dummy")
MAX_AGE_SECONDS = 60.0


# Whether the cache is shared, and whether it is Django's Redis cache on REDIS_URL's server:
# read from the settings once (every request asks), again when a test overrides them.
_shared_cache: list[bool] = []
_raw_cache: list[bool] = []
# The cache's own name (key prefix and version) of each counter in Redis, made once.
_raw_keys: dict[str, bytes] = {}
# How Django's Redis cache stores a value: an int as its digits, anything else pickled.
_SERIALIZER = RedisSerializer()


def _shared() -> bool:
    if not _shared_cache:
        backend = str(settings.CACHES["default"]["BACKEND"]).lower()
        _shared_cache.append(not any(local in backend for local in _LOCAL_BACKENDS))
    return _shared_cache[0]


def _raw_reads() -> bool:
    """Whether the cache's keys can be read from Redis itself (``REDIS_URL``), as the cache
    would read them: Django's Redis cache, on that one server, with its own serializer."""
    if not _raw_cache:
        config = settings.CACHES["default"]
        _raw_cache.append(
            config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
            and bool(settings.REDIS_URL)
            and config.get("LOCATION") == settings.REDIS_URL
            and "serializer" not in config.get("OPTIONS", {})
        )
    return _raw_cache[0]


def _raw_key(name: str) -> bytes:
    raw = _raw_keys.get(name)
    if raw is None:
        raw = _raw_keys[name] = cache.make_key(_key(name)).encode()
    return raw


def _caches_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", "REDIS_URL"):
        _shared_cache.clear()
        _raw_cache.clear()
        _raw_keys.clear()


setting_changed.connect(_caches_changed, dispatch_uid="generations-caches-changed")


@functools.cache
def _key(name: str) -> str:
    return f"sb:generation:{name}"


# Every generation name a cache or a bump has used, read together by a request's first read.
_NAMES: set[str] = set()
# The request's counters: None outside a request; empty until its first read.
_request_counters: ContextVar[dict[str, int] | None] = ContextVar("generation_counters", default=None)


def _request_began(**kwargs: Any) -> None:
    _request_counters.set({})


def _request_ended(**kwargs: Any) -> None:
    _request_counters.set(None)


request_started.connect(_request_began, dispatch_uid="generations-request-started")
request_finished.connect(_request_ended, dispatch_uid="generations-request-finished")


def _read_all(names: set[str]) -> dict[str, int]:
    """Every counter in ``names`` that exists, in one round trip (``MGET``); {} when the cache
    cannot be reached (each read then tries on its own, and says so)."""
    try:
        found = cache.get_many([_key(n) for n in names])
    except Exception:  # noqa: BLE001 - any cache failure: the single reads handle it
        return {}
    return {n: int(found[_key(n)]) for n in names if found.get(_key(n)) is not None}


# Reads Redis keys (as the cache names them) in one round trip: their raw values, None where
# a key does not exist. It may do more in that round trip (the API's rate bucket).
RawRead = Callable[[list[bytes]], list[Any]]


def generation_redis_key(name: str) -> bytes:
    """The Redis key holding ``name``'s counter (the cache's key prefix and version included),
    for a script that must act only while a generation holds."""
    return _raw_key(name)


def generations_read_with(keys: list[str], *, read: RawRead | None = None) -> dict[str, Any]:
    """The values of the cache ``keys`` that exist. At a request's first read, in the same
    round trip as its counters, which it then keeps as ``generation`` would (the API's
    authentication: whether the client's address is blocked, with the counters its key is
    checked against); else on their own. That round trip is ``read``'s when given and the
    cache is Redis itself (``REDIS_URL``: no cache layer around it), else the cache's ``MGET``;
    ``read`` is not called otherwise. A cache failure is raised, as ``get_many`` raises it."""
    counters = _request_counters.get()
    if counters is None or counters or not _shared():
        return cache.get_many(keys)
    names = list(_NAMES)
    if read is None or not _raw_reads():
        found = cache.get_many([*keys, *(_key(n) for n in names)])
        counters.update({n: int(found[_key(n)]) for n in names if found.get(_key(n)) is not None})
        return {k: found[k] for k in keys if k in found}
    raw = read([*(cache.make_key(k).encode() for k in keys), *(_raw_key(n) for n in names)])
    counters.update({n: int(v) for n, v in zip(names, raw[len(keys) :], strict=True) if v is not None})
    return {k: _SERIALIZER.loads(v) for k, v in zip(keys, raw, strict=False) if v is not None}


def generation(name: str) -> int | None:
    """The current generation of ``name``, or None when nothing may be cached (no shared
    cache, or it cannot be reached). In a request, from the counters it read at its first
    read, all at once."""
    if not _shared():
        return None
    counters = _request_counters.get()
    if counters is not None:
        if not counters:
            counters.update(_read_all(_NAMES | {name}))
        if name in counters:
            return counters[name]
    value = _generation_read(name)
    if counters is not None and value is not None:
        counters[name] = value
    return value


@contextmanager
def generations_read_together() -> Iterator[None]:
    """Outside a request (a worker, a command, a service called directly), read the counters
    within the block as a request does: every known one at the first read, in one round trip,
    kept until the block ends. In a request, nothing changes (it reads them so already)."""
    if _request_counters.get() is not None:
        yield
        return
    token = _request_counters.set({})
    try:
        yield
    finally:
        _request_counters.reset(token)


def _generation_read(name: str) -> int | None:
    _NAMES.add(name)
    try:
        value = cache.get(_key(name))
        if value is None:
            cache.add(_key(name), 1, timeout=None)
            value = cache.get(_key(name))
    except Exception:  # noqa: BLE001 - any cache failure: read the database instead
        logger.warning("generation cache unavailable: %s not cached", name)
        return None
    return int(value) if value is not None else None


def generation_bump_now(name: str) -> None:
    """Invalidate ``name`` in every process now (an operator after a raw UPDATE or a restore)."""
    counters = _request_counters.get()
    if counters is not None:
        counters.pop(name, None)  # this request reads its own change at once
    try:
        cache.add(_key(name), 1, timeout=None)
        cache.incr(_key(name))
    except Exception:  # noqa: BLE001
        # Without the counter no process caches (generation() is None while it is unreachable).
        logger.warning("generation cache unavailable: %s not bumped", name)


def generation_bump(name: str) -> None:
    """Invalidate everything cached under ``name`` in every process: now (this process's own
    transaction sees its change at once) and again once the transaction commits (a process
    that read the old rows in between must not keep them)."""
    if not _shared():
        return
    generation_bump_now(name)
    transaction.on_commit(lambda: generation_bump_now(name))


def bump_on_change(name: str) -> Any:
    """A signal receiver (post_save, post_delete) bumping ``name``."""

    def receiver(sender: Any, **kwargs: Any) -> None:
        generation_bump(name)

    return receiver


def bump_on_changes(name: str, *senders: type[models.Model]) -> None:
    """Bump ``name`` whenever a row of one of ``senders`` is saved or deleted through the ORM
    (call it from an app's ``ready``). A write without signals (``update()``, raw SQL, a
    restore) needs ``generation_bump_now``, or waits ``MAX_AGE_SECONDS``."""
    _NAMES.add(name)
    receiver = bump_on_change(name)
    for sender in senders:
        for signal in (post_save, post_delete):
            signal.connect(
                receiver,
                sender=sender,
                weak=False,
                dispatch_uid=f"{name}-generation-{sender._meta.label}-{signal is post_save}",
            )


_ALL: list[GenerationCache[Any]] = []


def generation_caches_clear() -> None:
    """Empty every per-process cache (tests, whose rolled-back rows bump nothing), and forget
    the counters of a request that never finished."""
    _request_counters.set(None)
    for each in _ALL:
        each.clear()


class GenerationCache(Generic[V]):
    """A bounded per-process mapping whose entries hold while ``name``'s generation is the
    one they were stored under. Read the generation first, then the database, then ``put``
    under that generation: a change in between makes the entry stale at once."""

    def __init__(self, name: str, size: int = 1024) -> None:
        self.name = name
        self.size = size
        _NAMES.add(name)
        self._entries: dict[Any, tuple[int, float, V]] = {}
        _ALL.append(self)

    def get(self, key: Any, current: int | None) -> V | None:
        if current is None:
            return None
        entry = self._entries.get(key)
        if entry is None or entry[0] != current or time.monotonic() - entry[1] > MAX_AGE_SECONDS:
            return None
        return entry[2]

    def held(self, key: Any) -> tuple[V, int] | None:
        """The entry for ``key`` and the generation it was stored under, whatever the current
        one (not past ``MAX_AGE_SECONDS``): true only while that generation is still current,
        so for a caller that checks it in the same step as it acts (a script on the cache
        server)."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[1] > MAX_AGE_SECONDS:
            return None
        return entry[2], entry[0]

    def put(self, key: Any, value: V, current: int | None) -> None:
        if current is None:
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (current, time.monotonic(), value)

    def clear(self) -> None:
        self._entries.clear()
