"""What a hand-off's outcome means for the message: the status change to record (sent,
retry later with backoff, wait for the rate limit or an operator, or fail), and the operator
alert for a misconfigured provider."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.messaging.handoff import HandOff
from hub.messaging.lifecycle import Change
from hub.messaging.models import MessageStatus as S
from hub.providers.base import SendResult
from hub.providers.errors import (
    ProviderConfigurationError,
    ProviderError,
    RetryableProviderError,
    UnexpectedProviderError,
)

logger = logging.getLogger("hub.dispatch")

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


def alert_misconfigured(hand_offs: list[HandOff], *, actor: Actor) -> None:
    """One audited operator alert per misconfigured provider per batch."""
    seen: dict[str, ProviderError] = {}
    for hand_off in hand_offs:
        for name, error in hand_off.configuration_errors:
            seen.setdefault(name, error)
    for name, error in seen.items():
        logger.error("ALERT provider=%s is misconfigured (code %s): an operator must act", name, error.code)
        audit_append(
            actor=actor,
            action="provider.misconfigured",
            object_type="provider",
            object_id=name,
            payload={"code": error.code, "http_status": error.http_status},
        )


def outcome_change(hand_off: HandOff, report: DispatchReport) -> Change:
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
