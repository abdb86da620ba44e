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
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from hub.api.permissions import ApiKeyScopes, scopes_refusal
from hub.apikeys.models import ApiKey
from hub.apikeys.ratelimit import Decision, TakeIf, bucket_take, bucket_take_reading
from hub.apikeys.services import APIKEYS_GENERATION, apikey_held
from hub.client_address import client_address
from hub.generations import generation_redis_key, generations_read_with

KNOWN_KEY_SECONDS = 24 * 3600
# This process added these known-key marks: until when it need not add them again.
KNOWN_KEY_ADDED_SECONDS = 600
KNOWN_KEY_ADDED_MAX = 4096
_known_added: dict[str, float] = {}


# The request attribute holding the rate token its authentication took: (key prefix, decision).
_TAKEN = "hub_rate_token_taken"


def _bucket(api_key: ApiKey) -> str:
    return f"apikey:{api_key.prefix}"


class ApiKeyRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        # The token authentication already took for this key (see bad_key_refuse_if_blocked),
        # else one taken now.
        taken = request.__dict__.pop(_TAKEN, None)
        if taken is not None and taken[0] == api_key.prefix:
            decision: Decision = taken[1]
        else:
            decision = bucket_take(
                key=_bucket(api_key),
                rate_per_minute=api_key.rate_limit_per_minute,
                burst=api_key.rate_limit_burst,
            )
        self._wait = None if decision.allowed else max(1.0, math.ceil(decision.retry_after))
        return decision.allowed

    def wait(self) -> float | None:
        return self._wait


# View classes by whether ApiKeyRateThrottle follows only the scopes (filled as they are met).
_DRF_ORDER = ("initial", "check_permissions", "get_permissions", "check_throttles", "get_throttles")
_after_scopes: dict[type, bool] = {}


def view_throttled_after_scopes(view_class: type) -> bool:
    """Whether a request to this view, once authenticated, meets only the scopes
    (ApiKeyScopes; IsAuthenticated passes any key) and then ApiKeyRateThrottle, in the order
    DRF's APIView checks them (a view that changes how it finds or checks them is not)."""
    answer = _after_scopes.get(view_class)
    if answer is None:
        # Imported here: rest_framework.views imports the authentication that imports this.
        from rest_framework.views import APIView

        permissions = getattr(view_class, "permission_classes", ())
        answer = _after_scopes[view_class] = (
            issubclass(view_class, APIView)
            and all(getattr(view_class, name) is getattr(APIView, name) for name in _DRF_ORDER)
            and ApiKeyRateThrottle in getattr(view_class, "throttle_classes", ())
            and all(p in (IsAuthenticated, ApiKeyScopes) for p in permissions)
        )
    return answer


def _rate_token_due(request: Request, raw: str) -> tuple[ApiKey, int] | None:
    """The key ``raw`` is (as this process holds it, with the generation it was held under)
    when the request will spend a rate token of it once that generation is confirmed: its
    view throttles by key after the scopes alone, and the key's scopes allow the request."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if not raw or view is None or not view_throttled_after_scopes(type(view)):
        return None
    held = apikey_held(raw=raw)
    if held is None or scopes_refusal(request, view, api_key=held[0]) is not None:
        return None
    return held


def bad_key_refuse_if_blocked(request: Request, *, prefix: str, raw: str = "") -> None:
    """Raise Throttled if this client address used up its budget of invalid keys and the key
    with this ``prefix`` has not authenticated from there before.

    Read in the request's first round trip, with its generation counters. Given ``raw`` (the
    key as sent) that this process already holds, and a request the key's scopes allow, the
    same round trip (a script) also takes the key's rate token, if and only if the ``apikeys``
    generation is still the one the key was held under (so it is the key authentication will
    find, unchanged and not revoked) and the address is not blocked; ApiKeyRateThrottle then
    uses that answer. Otherwise (a key this process has not met, or changed, a blocked
    address, a refusal by scope) nothing is taken and the throttle takes its token as before:
    a request refused by its key or its scopes never spends one."""
    address = client_address(request)
    blocked = f"sb:badkey-blocked:{address}"
    due = _rate_token_due(request, raw)
    taken: list[Decision] = []

    def read(keys: list[bytes]) -> list[Any]:
        take = None
        if due is not None:
            api_key, held_under = due
            take = TakeIf(
                key=_bucket(api_key),
                rate_per_minute=api_key.rate_limit_per_minute,
                burst=api_key.rate_limit_burst,
                holding=generation_redis_key(APIKEYS_GENERATION),
                value=held_under,
                absent=keys[0],  # the block, as the cache names it
            )
        decision, values = bucket_take_reading(reads=keys, take=take)
        if decision is not None:
            taken.append(decision)
        return values

    until = generations_read_with([blocked], read=read).get(blocked)
    if taken and due is not None:
        request.__dict__[_TAKEN] = (due[0].prefix, taken[0])
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
