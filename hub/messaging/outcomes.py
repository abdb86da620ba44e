"""What a provider answered at the hand-off, as the feedback path's ``Outcome``: the status to
record (sent, retry later with backoff, wait for the rate limit or an operator, or fail, the
retry policy being dispatch's), and what the provider's error means beyond the message (its
vendor module already said: suppress, opt-out, device gone), applied by
``hub.messaging.feedback.outcomes_apply``."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from hub.messaging.feedback import ErrorClass, Misconfigured, Outcome
from hub.messaging.handoff import HandOff
from hub.messaging.lifecycle import Change
from hub.messaging.models import MessageStatus as S
from hub.providers.base import SendResult
from hub.providers.errors import (
    PermanentProviderError,
    ProviderConfigurationError,
    ProviderError,
    RetryableProviderError,
    UnexpectedProviderError,
)

# A misconfigured provider (401): messages wait this long for an operator, their tries kept.
CONFIGURATION_RETRY_SECONDS = 300


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    simulated: list[UUID] = field(default_factory=list)


def backoff_seconds(attempt: int, hint: float | None = None) -> float:
    """Exponential backoff with full jitter, capped at 30 minutes; a vendor's hint wins if longer."""
    ceiling = min(1800.0, 2.0**attempt * 5)
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return max(delay, hint or 0.0)


def _error_class(error: ProviderError) -> str:
    if isinstance(error, UnexpectedProviderError):
        return ErrorClass.UNEXPECTED
    if isinstance(error, ProviderConfigurationError):
        return ErrorClass.CONFIGURATION
    if isinstance(error, RetryableProviderError):
        return ErrorClass.RETRYABLE
    return ErrorClass.PERMANENT


def _error_meaning(error: ProviderError) -> dict[str, Any]:
    """The Outcome fields a provider error sets (its vendor module has already mapped the code)."""
    meaning: dict[str, Any] = {"error_code": error.code, "error_class": _error_class(error)}
    if isinstance(error, PermanentProviderError):
        meaning.update(
            permanent=True,
            suppress=error.suppression_reason if error.suppress else "",
            opt_out=error.withdraw_consent,
            device_gone=error.remove_device,
        )
    return meaning


def hand_off_outcome(hand_off: HandOff, report: DispatchReport) -> Outcome:
    """The feedback path's Outcome of one hand-off (counted into ``report``)."""
    change = _hand_off_change(hand_off, report)
    misconfigured = tuple(
        Misconfigured(name, error.code, error.http_status) for name, error in hand_off.configuration_errors
    )
    meaning = _error_meaning(hand_off.result) if isinstance(hand_off.result, ProviderError) else {}
    return Outcome(
        message_id=change.message_id,
        status=change.to,
        fields=change.fields,
        detail=change.detail,
        misconfigured=misconfigured,
        **meaning,
    )


def _hand_off_change(hand_off: HandOff, report: DispatchReport) -> Change:
    message, content, provider, outcome = (
        hand_off.attempt.message,
        hand_off.attempt.content,
        hand_off.provider,
        hand_off.result,
    )
    detail: dict[str, Any] = {}
    if len(hand_off.attempt.tried) > 1:
        detail["failed_over_from"] = hand_off.attempt.tried[:-1]
    if outcome is None:
        # The rate limit, not the provider: the message waits, and the attempt is not counted.
        report.retrying += 1
        due = timezone.now() + timedelta(seconds=hand_off.wait_seconds)
        return Change(
            message.id,
            S.QUEUED,
            {"attempts": max(0, message.attempts - 1), "not_before": due, "error_code": "rate_limited"},
            detail={"provider": provider},
        )
    if isinstance(outcome, SendResult):
        report.sent += 1
        if outcome.simulated_delivery:
            report.simulated.append(message.id)
        return Change(
            message.id,
            S.SENT,
            {
                "provider": provider,
                "provider_message_id": outcome.provider_message_id,
                "rendered": content.as_dict(),
                "error_code": "",
                "error_message": "",
            },
            detail=detail,
        )
    error_fields: dict[str, Any] = {
        "provider": provider,
        "error_code": outcome.code[:32],
        "error_message": outcome.message[:500],
    }
    if isinstance(outcome, UnexpectedProviderError):
        # We cannot tell whether the vendor got the message: fail it, and say it must be checked.
        return Change(message.id, S.FAILED, {**error_fields, "needs_reconciliation": True}, detail=detail)
    if isinstance(outcome, ProviderConfigurationError):
        # Our credentials are wrong: waiting for an operator must not burn the message's tries.
        report.retrying += 1
        due = timezone.now() + timedelta(seconds=CONFIGURATION_RETRY_SECONDS)
        return Change(
            message.id,
            S.QUEUED,
            {**error_fields, "attempts": max(0, message.attempts - 1), "not_before": due},
            detail=detail,
        )
    if isinstance(outcome, RetryableProviderError) and message.attempts < settings.HUB_MAX_SEND_ATTEMPTS:
        report.retrying += 1
        due = timezone.now() + timedelta(seconds=backoff_seconds(message.attempts, outcome.retry_after))
        return Change(message.id, S.QUEUED, {**error_fields, "not_before": due}, detail=detail)
    return Change(
        message.id,
        S.FAILED,
        error_fields,
        detail={**detail, "retryable": outcome.retryable, "attempts": message.attempts},
    )
