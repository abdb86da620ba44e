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
request (workers, commands) each read is its own round trip.

Without a shared cache (local memory is one process's view) nothing is cached: every read goes
to the database; so too while the cache server cannot be reached. As a backstop for a bump lost
to a cache server unreachable at that moment, an entry is also dropped after ``MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started, setting_changed
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

V = TypeVar("V")
_LOCAL_BACKENDS = ("locmem", "dummy")
MAX_AGE_SECONDS = 60.0


# Whether the cache is shared: read from CACHES once (every request asks several times), again
# when a test overrides CACHES.
_shared_cache: list[bool] = []


def _shared() -> bool:
    if not _shared_cache:
        backend = str(settings.CACHES["default"]["BACKEND"]).lower()
        _shared_cache.append(not any(local in backend for local in _LOCAL_BACKENDS))
    return _shared_cache[0]


def _caches_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        _shared_cache.clear()


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


def generations_read_with(keys: list[str]) -> dict[str, Any]:
    """The values of the cache ``keys`` that exist. At a request's first read, in the same
    round trip (one ``MGET``) as its counters, which it then keeps as ``generation`` would
    (the API's authentication: whether the client's address is blocked, with the counters its
    key is checked against); else on their own. A cache failure is raised, as ``get_many``
    raises it."""
    counters = _request_counters.get()
    if counters is None or counters or not _shared():
        return cache.get_many(keys)
    names = set(_NAMES)
    found = cache.get_many([*keys, *(_key(n) for n in names)])
    counters.update({n: int(found[_key(n)]) for n in names if found.get(_key(n)) is not None})
    return {k: found[k] for k in keys if k in found}


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

    def put(self, key: Any, value: V, current: int | None) -> None:
        if current is None:
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (current, time.monotonic(), value)

    def clear(self) -> None:
        self._entries.clear()
