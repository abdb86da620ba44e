"""Provider health from a sliding window of outcomes and latency, shared by every worker.

Outcomes are counted in 10-second buckets kept in the cache (Redis when ``REDIS_URL`` is
set, so every worker sees the same window; otherwise the local cache). A provider whose
error rate or mean latency over the window passes its threshold is *demoted*: routing puts
it after the healthy ones. A demoted provider still gets one *probe* send per probe
interval; when a probe succeeds it is restored with a fresh window.

Only failures that are the provider's fault count as errors (timeouts, 5xx, 429, bad
credentials); a recipient's invalid number is a success as far as health goes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger("hub.providers.health")

BUCKET_SECONDS = 10
_PREFIX = "hub:provider-health"


def _config() -> dict[str, float]:
    return {
        "window": float(settings.HUB_PROVIDER_HEALTH_WINDOW_SECONDS),
        "min_calls": float(settings.HUB_PROVIDER_HEALTH_MIN_CALLS),
        "max_error_rate": float(settings.HUB_PROVIDER_HEALTH_MAX_ERROR_RATE),
        "max_latency_ms": float(settings.HUB_PROVIDER_HEALTH_MAX_LATENCY_MS),
        "probe": float(settings.HUB_PROVIDER_PROBE_SECONDS),
    }


def _bucket_keys(provider: str, now: float, window: float) -> list[tuple[str, str, str]]:
    current = int(now // BUCKET_SECONDS)
    count = max(1, int(window // BUCKET_SECONDS))
    return [
        (
            f"{_PREFIX}:{provider}:{b}:calls",
            f"{_PREFIX}:{provider}:{b}:errors",
            f"{_PREFIX}:{provider}:{b}:ms",
        )
        for b in range(current - count + 1, current + 1)
    ]


def _demoted_key(provider: str) -> str:
    return f"{_PREFIX}:{provider}:demoted"


def _incr(key: str, amount: int, ttl: float) -> None:
    cache.add(key, 0, timeout=int(ttl))
    try:
        cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.set(key, amount, timeout=int(ttl))


@dataclass(frozen=True)
class ProviderHealth:
    """A provider's window: calls, errors, mean latency; whether it is demoted, and why."""

    provider: str
    calls: int
    errors: int
    mean_latency_ms: float
    demoted: bool
    demoted_reason: str = ""
    last_error: str = ""

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def provider_health(provider: str) -> ProviderHealth:
    """The provider's health now (reads only)."""
    cfg = _config()
    keys = _bucket_keys(provider, time.time(), cfg["window"])
    flat = [k for triple in keys for k in triple]
    values = cache.get_many([*flat, _demoted_key(provider), f"{_PREFIX}:{provider}:last_error"])
    calls = sum(int(values.get(c, 0)) for c, _, _ in keys)
    errors = sum(int(values.get(e, 0)) for _, e, _ in keys)
    total_ms = sum(int(values.get(m, 0)) for _, _, m in keys)
    demoted = values.get(_demoted_key(provider))
    return ProviderHealth(
        provider=provider,
        calls=calls,
        errors=errors,
        mean_latency_ms=total_ms / calls if calls else 0.0,
        demoted=demoted is not None,
        demoted_reason=str(demoted or ""),
        last_error=str(values.get(f"{_PREFIX}:{provider}:last_error", "")),
    )


def provider_health_record(*, provider: str, ok: bool, latency_ms: float, error: str = "") -> None:
    """Count one call; see provider_health_record_many."""
    provider_health_record_many(
        provider=provider, calls=1, errors=0 if ok else 1, total_latency_ms=latency_ms, last_error=error
    )


def provider_health_record_many(
    *, provider: str, calls: int, errors: int, total_latency_ms: float, last_error: str = ""
) -> None:
    """Count a batch of calls (``errors`` of them the provider's fault) in a handful of cache
    round trips, whatever the batch size. Demotes the provider when its window passes a
    threshold; a success while demoted (a probe) restores it."""
    if calls <= 0:
        return
    cfg = _config()
    ttl = cfg["window"] + BUCKET_SECONDS * 2
    calls_key, errors_key, ms_key = _bucket_keys(provider, time.time(), cfg["window"])[-1]
    _incr(calls_key, calls, ttl)
    _incr(ms_key, max(0, int(total_latency_ms)), ttl)
    if errors:
        _incr(errors_key, errors, ttl)
        if last_error:
            cache.set(f"{_PREFIX}:{provider}:last_error", last_error[:200], timeout=int(ttl * 10))
    health = provider_health(provider)
    if health.demoted:
        if errors < calls:
            provider_health_reset(provider)
            logger.warning("provider=%s restored: a probe succeeded", provider)
        return
    reason = ""
    if health.calls >= cfg["min_calls"] and health.error_rate >= cfg["max_error_rate"]:
        reason = f"error rate {health.error_rate:.0%} over {health.calls} calls"
    elif health.calls >= cfg["min_calls"] and health.mean_latency_ms >= cfg["max_latency_ms"]:
        reason = f"mean latency {health.mean_latency_ms:.0f}ms over {health.calls} calls"
    if reason:
        provider_demote(provider=provider, reason=reason)


def provider_demote(*, provider: str, reason: str) -> None:
    """Put a provider after the healthy ones until a probe succeeds."""
    if cache.add(_demoted_key(provider), reason, timeout=None):
        # Its first probe waits a full interval, so failover is not undone at once.
        cache.set(f"{_PREFIX}:{provider}:probe", 1, timeout=int(_config()["probe"]))
        logger.error("ALERT provider=%s demoted: %s; traffic fails over", provider, reason)


def provider_may_probe(provider: str) -> bool:
    """For a demoted provider: True for at most one caller per probe interval."""
    return bool(cache.add(f"{_PREFIX}:{provider}:probe", 1, timeout=int(_config()["probe"])))


def provider_health_reset(provider: str) -> None:
    """Forget the provider's window and demotion (restore, or tests)."""
    cfg = _config()
    keys = [
        k for triple in _bucket_keys(provider, time.time(), cfg["window"] + BUCKET_SECONDS) for k in triple
    ]
    cache.delete_many([*keys, _demoted_key(provider), f"{_PREFIX}:{provider}:probe"])
