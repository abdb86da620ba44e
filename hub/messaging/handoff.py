"""The hand-off itself: each message goes to its first provider that takes it, within the
provider's rate limit; on a retryable or configuration error it fails over to the next
provider in the same attempt. Runs with no transaction open: these are network calls.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from hub.messaging.models import Message
from hub.providers.base import OutboundMessage, Provider, SendResult
from hub.providers.errors import ProviderConfigurationError, ProviderError, RetryableProviderError
from hub.providers.health import provider_demote, provider_health_record_many
from hub.providers.ratelimit import rate_limit_take
from templates_app.rendering import RenderedContent

logger = logging.getLogger("hub.dispatch")

# A rate-limited send waits in the worker up to this long; a longer wait goes to the database.
MAX_INLINE_WAIT_SECONDS = 1.0


@dataclass
class Attempt:
    """One message on its way, with the providers it may still try, in order."""

    message: Message
    outbound: OutboundMessage
    content: RenderedContent
    candidates: list[Provider]
    tried: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HandOff:
    """What became of one message: ``result`` is None when the rate limit deferred it."""

    attempt: Attempt
    provider: str
    result: SendResult | ProviderError | None
    wait_seconds: float = 0.0
    configuration_errors: tuple[tuple[str, ProviderError], ...] = ()


def _is_provider_fault(result: SendResult | ProviderError) -> bool:
    return isinstance(result, RetryableProviderError | ProviderConfigurationError)


def _may_fail_over(result: SendResult | ProviderError) -> bool:
    """Only when the provider surely did not take the message: after a timeout it may have,
    and a second provider would send it twice, so that message waits for its retry instead."""
    return _is_provider_fault(result) and not (isinstance(result, ProviderError) and result.code == "timeout")


def _within_rate(
    provider: Provider, group: list[Attempt]
) -> tuple[list[Attempt], list[tuple[Attempt, float]]]:
    """Reserve a token per message; returns (ready, deferred with their wait)."""
    if not provider.rate_per_second:
        return group, []
    ready: list[Attempt] = []
    deferred: list[tuple[Attempt, float]] = []
    longest = 0.0
    for attempt in group:
        wait = rate_limit_take(
            key=provider.rate_limit_key(attempt.outbound),
            rate=provider.rate_per_second,
            burst=provider.burst,
            max_wait=MAX_INLINE_WAIT_SECONDS,
        )
        if wait < 0:
            deferred.append((attempt, -wait))
        else:
            ready.append(attempt)
            longest = max(longest, wait)
    if longest > 0:
        time.sleep(longest)
    return ready, deferred


def _health_record(provider: str, results: list[SendResult | ProviderError], per_message_ms: float) -> None:
    """One health update per provider per batch: the calls, the provider's faults among them."""
    faults = [r for r in results if _is_provider_fault(r)]
    last = faults[-1] if faults else None
    provider_health_record_many(
        provider=provider,
        calls=len(results),
        errors=len(faults),
        total_latency_ms=per_message_ms * len(results),
        last_error=f"{last.code}: {last.message}" if isinstance(last, ProviderError) else "",
    )


def messages_hand_off(attempts: list[Attempt]) -> list[HandOff]:
    """Hand each message to a provider; returns one HandOff per attempt."""
    done: list[HandOff] = []
    config_errors: dict[str, list[tuple[str, ProviderError]]] = defaultdict(list)
    pending = [a for a in attempts if a.candidates]
    while pending:
        groups: dict[str, list[Attempt]] = defaultdict(list)
        providers: dict[str, Provider] = {}
        for attempt in pending:
            provider = attempt.candidates[len(attempt.tried)]
            providers[provider.name] = provider
            groups[provider.name].append(attempt)
        pending = []
        for name, group in groups.items():
            provider = providers[name]
            ready, deferred = _within_rate(provider, group)
            done.extend(HandOff(a, name, None, wait) for a, wait in deferred)
            if not ready:
                continue
            started = time.perf_counter()
            results = provider.send_many([a.outbound for a in ready])
            per_message_ms = (time.perf_counter() - started) * 1000 / len(ready)
            _health_record(name, results, per_message_ms)
            for attempt, result in zip(ready, results, strict=True):
                if isinstance(result, ProviderConfigurationError):
                    # Retrying will not fix our credentials: alert, and route around it now.
                    provider_demote(provider=name, reason=f"configuration error {result.code}")
                    config_errors[str(attempt.message.id)].append((name, result))
                attempt.tried.append(name)
                if _may_fail_over(result) and len(attempt.tried) < len(attempt.candidates):
                    logger.info("message=%s fails over from %s", attempt.message.id, name)
                    pending.append(attempt)
                    continue
                done.append(
                    HandOff(
                        attempt,
                        name,
                        result,
                        configuration_errors=tuple(config_errors.get(str(attempt.message.id), [])),
                    )
                )
    return done
