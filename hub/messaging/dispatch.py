"""Handing messages to providers: claim, render, send with no transaction open, record.

A batch of messages costs a fixed number of queries, whatever its size: one claim, one
load, one write of the outcomes. The provider call happens between them, outside any
transaction.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.services import Actor
from hub.celery import send_queue
from hub.messaging.lifecycle import Change, messages_claim, messages_transition
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.providers.base import OutboundMessage, Provider, SendResult
from hub.providers.errors import ProviderConfigurationError, ProviderError, RetryableProviderError
from hub.providers.registry import provider_for, sandbox_provider
from templates_app.rendering import RenderedContent, RenderError, variant_render, variant_select

logger = logging.getLogger("hub.dispatch")

DISPATCH_ACTOR = Actor.system()
# Retries sooner than this are scheduled on the broker; later ones wait in the database.
SHORT_RETRY_SECONDS = 60


def _chunks(items: list[UUID], size: int) -> Iterable[list[UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enqueue(message_ids: list[UUID], *, channel: str, category: str, countdown: float = 0) -> None:
    """Put sends on the queue for their channel and lane, in batches."""
    from hub.messaging.tasks import send_messages

    queue = send_queue(channel, category)
    for chunk in _chunks(message_ids, settings.HUB_DISPATCH_BATCH_SIZE):
        options: dict[str, Any] = {"queue": queue}
        if countdown > 0:
            options["countdown"] = countdown
        send_messages.apply_async(([str(i) for i in chunk],), **options)


def enqueue_on_commit(message_ids: list[UUID], *, category: str, channels: Mapping[UUID, str]) -> None:
    """Enqueue once the current transaction commits; nothing if it rolls back."""
    by_channel: dict[str, list[UUID]] = defaultdict(list)
    for message_id in message_ids:
        by_channel[channels[message_id]].append(message_id)
    for channel, ids in by_channel.items():
        transaction.on_commit(partial(enqueue, ids, channel=channel, category=category))


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


def messages_dispatch(*, message_ids: list[UUID]) -> DispatchReport:
    """Send these messages if they are still queued and due; safe to call twice for the same ids."""
    report = DispatchReport()
    claimed = messages_claim(message_ids, actor=DISPATCH_ACTOR)
    report.claimed = len(claimed)
    if not claimed:
        return report
    messages = list(
        Message.objects.filter(id__in=claimed)
        .select_related("notification__template", "notification__template_version", "notification__api_key")
        .prefetch_related("notification__template_version__variants")
    )
    changes: list[Change] = []
    outbound: dict[str, list[tuple[Message, OutboundMessage, RenderedContent]]] = defaultdict(list)
    providers: dict[str, Provider] = {}
    for message in messages:
        try:
            content = _render(message)
        except RenderError as exc:
            changes.append(
                Change(message.id, S.FAILED, {"error_code": "render_error", "error_message": str(exc)[:500]})
            )
            continue
        api_key = message.notification.api_key
        # A test API key's messages never leave the machine (issue 7).
        provider = (
            sandbox_provider(message.channel)
            if api_key and api_key.is_test
            else provider_for(message.channel)
        )
        providers[provider.name] = provider
        outbound[provider.name].append((message, _outbound(message, content), content))

    # No transaction is open here: the provider calls may take seconds.
    for name, items in outbound.items():
        results = providers[name].send_many([item[1] for item in items])
        for (message, _, content), outcome in zip(items, results, strict=True):
            changes.append(_outcome_change(message, name, content, outcome, report))

    with transaction.atomic():
        messages_transition(changes, actor=DISPATCH_ACTOR, source="dispatch")
        _schedule_follow_ups(changes, messages, report)
    report.failed = sum(1 for c in changes if c.to == S.FAILED)
    return report


def _render(message: Message) -> RenderedContent:
    notification = message.notification
    variant = variant_select(
        list(notification.template_version.variants.all()),
        channel=message.channel,
        locale=message.locale,
        default_locale=notification.template.default_locale,
    )
    if variant is None:
        raise RenderError(f"The template version has no {message.channel} content.")
    return variant_render(variant, notification.data)


def _outbound(message: Message, content: RenderedContent) -> OutboundMessage:
    callback = f"{settings.HUB_BASE_URL}/webhooks/twilio/status" if message.channel == "sms" else ""
    return OutboundMessage(
        message_id=str(message.id),
        channel=message.channel,
        to=message.to,
        content=content.as_dict(),
        category=message.category,
        status_callback_url=callback,
    )


def _outcome_change(
    message: Message,
    provider: str,
    content: RenderedContent,
    outcome: SendResult | ProviderError,
    report: DispatchReport,
) -> Change:
    rendered = content.as_dict()
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
                "rendered": rendered,
                "error_code": "",
                "error_message": "",
            },
        )
    error_fields = {
        "provider": provider,
        "error_code": outcome.code[:32],
        "error_message": outcome.message[:500],
    }
    if isinstance(outcome, ProviderConfigurationError):
        logger.error(
            "ALERT provider=%s is misconfigured (code %s): an operator must act", provider, outcome.code
        )
    retryable = isinstance(outcome, RetryableProviderError | ProviderConfigurationError)
    if retryable and message.attempts < settings.HUB_MAX_SEND_ATTEMPTS:
        report.retrying += 1
        hint = outcome.retry_after if isinstance(outcome, RetryableProviderError) else 300.0
        due = timezone.now() + timedelta(seconds=backoff_seconds(message.attempts, hint))
        return Change(message.id, S.QUEUED, {**error_fields, "not_before": due})
    return Change(
        message.id, S.FAILED, error_fields, detail={"retryable": retryable, "attempts": message.attempts}
    )


def _schedule_follow_ups(changes: list[Change], messages: list[Message], report: DispatchReport) -> None:
    by_id = {m.id: m for m in messages}
    if report.simulated:
        from hub.messaging.tasks import record_sandbox_delivery

        ids = [str(i) for i in report.simulated]
        delay = settings.HUB_SANDBOX_DELIVERY_DELAY
        options: dict[str, Any] = {"countdown": delay} if delay > 0 else {}
        transaction.on_commit(partial(record_sandbox_delivery.apply_async, (ids,), **options))
    now = timezone.now()
    for change in changes:
        due = change.fields.get("not_before")
        if change.to == S.QUEUED and due is not None and (due - now).total_seconds() <= SHORT_RETRY_SECONDS:
            message = by_id[change.message_id]
            wait = max(0.0, (due - now).total_seconds())
            transaction.on_commit(
                partial(
                    enqueue, [message.id], channel=message.channel, category=message.category, countdown=wait
                )
            )


def messages_record_sandbox_delivery(*, message_ids: list[UUID]) -> int:
    """The sandbox's simulated delivery report: sent → delivered."""
    changes = [Change(i, S.DELIVERED, detail={"simulated": True}) for i in message_ids]
    result = messages_transition(changes, actor=Actor.provider("sandbox"), source="sandbox")
    return len(result.applied)


def messages_release_due() -> int:
    """Beat: deferred messages whose time has come are queued; queued ones past their backoff
    are enqueued again. Returns how many were handed to the queue."""
    now = timezone.now()
    with transaction.atomic():
        due_ids = list(
            Message.objects.filter(status=S.DEFERRED, not_before__lte=now).values_list("id", flat=True)[:5000]
        )
        messages_transition([Change(i, S.QUEUED) for i in due_ids], actor=DISPATCH_ACTOR, source="scheduler")
    stale = now - timedelta(seconds=SHORT_RETRY_SECONDS)
    ready = Message.objects.filter(status=S.QUEUED).filter(
        Q(id__in=due_ids) | Q(not_before__lte=now, status_changed_at__lte=stale)
    )
    return _enqueue_rows(ready)


def messages_sweep_stuck() -> tuple[int, int]:
    """Beat: re-enqueue queued messages whose enqueue was lost; flag messages stuck in
    ``sending`` (the worker died mid-hand-off) for reconciliation. Returns (requeued, flagged)."""
    cutoff = timezone.now() - timedelta(seconds=settings.HUB_STUCK_AFTER_SECONDS)
    lost = Message.objects.filter(status=S.QUEUED, status_changed_at__lte=cutoff, not_before__isnull=True)
    requeued = _enqueue_rows(lost)
    stuck = list(
        Message.objects.filter(status=S.SENDING, status_changed_at__lte=cutoff).values_list("id", flat=True)[
            :5000
        ]
    )
    changes = [
        Change(
            i,
            S.FAILED,
            {
                "needs_reconciliation": True,
                "error_code": "handoff_unconfirmed",
                "error_message": "The worker stopped during the hand-off; the provider may or may not have it.",
            },
        )
        for i in stuck
    ]
    messages_transition(changes, actor=DISPATCH_ACTOR, source="sweeper")
    return requeued, len(stuck)


def _enqueue_rows(queryset: QuerySet[Message]) -> int:
    groups: dict[tuple[str, str], list[UUID]] = defaultdict(list)
    for message_id, channel, category in queryset.values_list("id", "channel", "category")[:5000]:
        groups[(channel, category)].append(message_id)
    for (channel, category), ids in groups.items():
        enqueue(ids, channel=channel, category=category)
    return sum(len(ids) for ids in groups.values())
