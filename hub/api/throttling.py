"""Rate limits as DRF throttles; a refused request is a 429 problem+json with ``Retry-After``.

- Per API key: a token bucket (see hub.apikeys.ratelimit) with the key's own rate and burst.
- Per client address, for requests whose key is invalid: ``HUB_BAD_KEY_BURST`` failures at
  once, then ``HUB_BAD_KEY_PER_MINUTE``, so keys cannot be guessed quickly. Only failures use
  this budget. While an address is over it, a request from there is refused before its key
  is checked (checking it would tell a guesser at full speed which guess was right), unless
  its key already authenticated from that address: clients behind the same NAT or proxy
  keep working."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from hub.apikeys.models import ApiKey
from hub.apikeys.ratelimit import bucket_take
from hub.client_address import client_address
from hub.generations import generations_read_with

KNOWN_KEY_SECONDS = 24 * 3600
# This process added these known-key marks: until when it need not add them again.
KNOWN_KEY_ADDED_SECONDS = 600
KNOWN_KEY_ADDED_MAX = 4096
_known_added: dict[str, float] = {}


class ApiKeyRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        decision = bucket_take(
            key=f"apikey:{api_key.prefix}",
            rate_per_minute=api_key.rate_limit_per_minute,
            burst=api_key.rate_limit_burst,
        )
        self._wait = None if decision.allowed else max(1.0, math.ceil(decision.retry_after))
        return decision.allowed

    def wait(self) -> float | None:
        return self._wait


def bad_key_refuse_if_blocked(request: Request, *, prefix: str) -> None:
    """Raise Throttled if this client address used up its budget of invalid keys and the key
    with this ``prefix`` has not authenticated from there before."""
    address = client_address(request)
    # Read with the request's generation counters: the key's check costs no round trip more.
    blocked = f"sb:badkey-blocked:{address}"
    until = generations_read_with([blocked]).get(blocked)
    if until is None or until <= time.time():
        return
    if prefix and cache.get(f"sb:known-key:{address}:{prefix}"):
        return
    raise exceptions.Throttled(wait=max(1, math.ceil(until - time.time())))


def bad_key_count_failure(request: Request) -> None:
    """Count an invalid key from this client address; raise Throttled once it is over budget."""
    address = client_address(request)
    decision = bucket_take(
        key=f"badkey:{address}",
        rate_per_minute=settings.HUB_BAD_KEY_PER_MINUTE,
        burst=settings.HUB_BAD_KEY_BURST,
    )
    if not decision.allowed:
        wait = max(1, math.ceil(decision.retry_after))
        cache.set(f"sb:badkey-blocked:{address}", time.time() + wait, timeout=wait)
        raise exceptions.Throttled(wait=wait)


def good_key_seen(request: Request, *, api_key: ApiKey) -> None:
    """Remember that this key authenticated from this address: one add to the cache, then
    none from this process for ``KNOWN_KEY_ADDED_SECONDS`` (the add never refreshes the mark,
    so adding it again on every request of a busy key was a round trip that changed nothing;
    re-adding now and then puts back a mark the cache has lost)."""
    name = f"sb:known-key:{client_address(request)}:{api_key.prefix}"
    now = time.monotonic()
    if _known_added.get(name, 0.0) > now:
        return
    cache.add(name, 1, timeout=KNOWN_KEY_SECONDS)
    if len(_known_added) >= KNOWN_KEY_ADDED_MAX:
        _known_added.clear()  # bounded: a process meets few (address, key) pairs
    _known_added[name] = now + KNOWN_KEY_ADDED_SECONDS
