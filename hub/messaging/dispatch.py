"""Handing messages to providers: claim, render, send with no transaction open, record.

A batch of messages costs a fixed number of queries, whatever its size: one claim, one
load, one write of the outcomes. The provider call happens between them, outside any
transaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from more_itertools import chunked

from audit.services import Actor
from hub.celery import send_queue
from hub.messaging.addressing import messages_block_undeliverable, outbound_message, push_devices_of
from hub.messaging.decide import messages_decide
from hub.messaging.feedback import outcomes_apply
from hub.messaging.handoff import Attempt, messages_hand_off
from hub.messaging.lifecycle import Change, messages_claim, messages_transition
from hub.messaging.links import unsubscribe_url
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.messaging.outcomes import DispatchReport, hand_off_outcome
from hub.messaging.wakes import wake_flag_clear, wake_flag_refresh, wake_flag_take
from hub.providers.registry import providers_for, sandbox_provider
from hub.tracking.links import contents_tracked
from templates_app.models import TemplateVariant
from templates_app.rendering import RenderedContent, RenderError, variant_render, variant_select
from templates_app.rendering.validation import used_names

UNSUBSCRIBE = "unsubscribe_url"

logger = logging.getLogger("hub.dispatch")

DISPATCH_ACTOR = Actor.system()
# Retries sooner than this are scheduled on the broker; later ones wait in the database.
SHORT_RETRY_SECONDS = 60


def enqueue(
    message_ids: list[UUID],
    *,
    channel: str,
    category: str,
    countdown: float = 0,
    batch_size: int | None = None,
) -> None:
    """Put sends on the queue for their channel and lane.

    Whole batches (of ``settings.HUB_DISPATCH_BATCH_SIZE`` unless told) go as tasks of their
    own, so a broadcast's batches spread over every worker process; what is left wakes the
    lane's drain, which takes it with whatever else is queued there (``lane_drain``). A send
    for later (``countdown``) always goes as a task of its own: a drain takes only what is due.
    """
    size = batch_size or settings.HUB_DISPATCH_BATCH_SIZE
    whole = len(message_ids) if countdown > 0 else len(message_ids) - len(message_ids) % size
    _publish_batches(message_ids[:whole], channel=channel, category=category, size=size, countdown=countdown)
    if whole < len(message_ids):
        lane_wake(channel, category)


def _publish_batches(
    message_ids: list[UUID], *, channel: str, category: str, size: int, countdown: float
) -> None:
    from hub.messaging.tasks import send_messages

    queue = send_queue(channel, category)
    for chunk in chunked(message_ids, size):
        options: dict[str, Any] = {"queue": queue}
        if countdown > 0:
            options["countdown"] = countdown
        send_messages.apply_async(([str(i) for i in chunk],), **options)


def lane_wake(channel: str, lane: str) -> None:
    """Make sure a drain will look at this channel and lane: publish one unless one is pending
    or running already. If publishing fails the flag is dropped again, and the caller decides
    what the failure means (the messages stay queued for the sweeper either way)."""
    from hub.messaging.tasks import drain_lane

    if not wake_flag_take(channel, lane):
        return
    try:
        drain_lane.apply_async((channel, lane), queue=send_queue(channel, lane))
    except BaseException:
        wake_flag_clear(channel, lane)
        raise


def enqueue_on_commit(message_ids: list[UUID], *, category: str, channels: Mapping[UUID, str]) -> None:
    """Enqueue once the current transaction commits; nothing if it rolls back."""
    by_channel: dict[str, list[UUID]] = defaultdict(list)
    for message_id in message_ids:
        by_channel[channels[message_id]].append(message_id)
    for channel, ids in by_channel.items():
        transaction.on_commit(partial(enqueue_or_leave_for_sweeper, ids, channel=channel, category=category))


def enqueue_or_leave_for_sweeper(message_ids: list[UUID], *, channel: str, category: str) -> None:
    """Enqueue after commit. If the broker is unreachable the rows are already committed as
    ``queued``: the sweeper enqueues them once it is back, so the caller's request still succeeds."""
    try:
        enqueue(message_ids, channel=channel, category=category)
    except Exception:  # noqa: BLE001 - any broker failure; nothing is lost
        logger.warning("broker unavailable: %d message(s) left queued for the sweeper", len(message_ids))


def messages_dispatch(*, message_ids: list[UUID]) -> DispatchReport:
    """Send these messages if they are still queued and due; safe to call twice for the same ids.

    A suppressed address or a removed push device is blocked before any provider sees it. Each
    claimed message goes to its channel's providers in routing order, failing over on provider
    faults; what a provider said is recorded in one transaction afterwards.
    """
    messages_block_undeliverable(message_ids=message_ids, actor=DISPATCH_ACTOR)
    return _send_claimed(messages_claim(message_ids, actor=DISPATCH_ACTOR))


def lane_dispatch_next(*, channel: str, lane: str, limit: int) -> tuple[int, DispatchReport]:
    """Take up to ``limit`` queued, due messages of one channel and lane, oldest first, and send
    them as one batch. Returns how many were taken (sent, blocked or failed) and the report.

    The rows are locked ``FOR UPDATE SKIP LOCKED`` from the moment they are chosen until they
    are claimed (or blocked), in one transaction: two drains never take the same message.
    """
    with transaction.atomic():
        taken = _queued_due_lock(channel=channel, lane=lane, limit=limit)
        messages_block_undeliverable(message_ids=taken, actor=DISPATCH_ACTOR)
        claimed = messages_claim(taken, actor=DISPATCH_ACTOR)
    return len(taken), _send_claimed(claimed)


def _queued_due_lock(*, channel: str, lane: str, limit: int) -> list[UUID]:
    now = timezone.now()
    return list(
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=S.QUEUED, channel=channel, category=lane)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("id")  # ids are UUIDv7: oldest first
        .values_list("id", flat=True)[:limit]
    )


def lane_drain(*, channel: str, lane: str) -> DispatchReport:
    """Send what is queued in one channel and lane, a batch of up to
    ``HUB_DISPATCH_BATCH_SIZE`` at a time, until the lane is empty.

    Called by the drain task a wake published; the lane's wake flag is set meanwhile, so
    accepts publish no other drain. When a claim finds nothing the flag is cleared and the
    lane claimed once more: a message that committed while the flag was still set (its wake
    published nothing) is taken then, so no message waits for the sweeper. After
    ``HUB_DISPATCH_DRAIN_SECONDS`` the drain hands the rest to a fresh task on the same queue
    and returns, so that a long backlog never meets the task's time limit and other queues'
    tasks get their turn on the worker.
    """
    total = DispatchReport()
    deadline = time.monotonic() + settings.HUB_DISPATCH_DRAIN_SECONDS
    size = settings.HUB_DISPATCH_BATCH_SIZE
    try:
        while True:
            taken, report = lane_dispatch_next(channel=channel, lane=lane, limit=size)
            _report_add(total, report)
            if not taken:
                wake_flag_clear(channel, lane)
                taken, report = lane_dispatch_next(channel=channel, lane=lane, limit=size)
                _report_add(total, report)
                if not taken or not wake_flag_take(channel, lane):
                    return total  # empty; or an accept since the clear woke another drain
            if time.monotonic() >= deadline:
                from hub.messaging.tasks import drain_lane

                wake_flag_refresh(channel, lane)
                drain_lane.apply_async((channel, lane), queue=send_queue(channel, lane))
                return total
            wake_flag_refresh(channel, lane)
    except BaseException:
        # Whatever stopped this drain, the next accept must be able to wake another.
        wake_flag_clear(channel, lane)
        raise


def _report_add(total: DispatchReport, report: DispatchReport) -> None:
    total.claimed += report.claimed
    total.sent += report.sent
    total.retrying += report.retrying
    total.failed += report.failed


def _send_claimed(claimed: list[UUID]) -> DispatchReport:
    """Render the claimed messages, hand them to providers with no transaction open, record."""
    report = DispatchReport()
    report.claimed = len(claimed)
    if not claimed:
        return report
    # The template, its version and the API key are shared by most of a batch: fetched once
    # each (one object per row, not one per message), with the version's variants.
    messages = list(
        Message.objects.filter(id__in=claimed)
        .select_related("notification")
        .prefetch_related(
            "notification__template", "notification__template_version__variants", "notification__api_key"
        )
    )
    devices = push_devices_of(messages)
    changes: list[Change] = []
    attempts: list[Attempt] = []
    demoted_now: dict[str, bool] = {}
    render = _Renderer()
    rendered: list[tuple[Message, RenderedContent]] = []
    for message in messages:
        try:
            rendered.append((message, render(message)))
        except RenderError as exc:
            changes.append(
                Change(message.id, S.FAILED, {"error_code": "render_error", "error_message": str(exc)[:500]})
            )
        except Exception:  # a poison message must fail, not crash the batch and loop
            logger.exception("message=%s could not be prepared", message.id)
            changes.append(Change(message.id, S.FAILED, {"error_code": "internal_error"}))
    # Links rewritten to tracked redirects where the template tracks (hub.tracking).
    for (message, _), content in zip(rendered, contents_tracked(rendered), strict=True):
        outbound = outbound_message(message, content, devices)
        if outbound is None:
            changes.append(
                Change(
                    message.id, S.FAILED, {"error_code": "device_removed", "error_message": "No such device."}
                )
            )
            continue
        api_key = message.notification.api_key
        # A test API key's messages never leave the machine (issue 7).
        candidates = (
            [sandbox_provider(message.channel)]
            if api_key is not None and api_key.is_test
            else providers_for(outbound, demoted_now=demoted_now)
        )
        if not candidates:
            changes.append(
                Change(
                    message.id,
                    S.FAILED,
                    {"error_code": "no_provider", "error_message": "No provider can carry this message."},
                )
            )
            continue
        attempts.append(Attempt(message, outbound, content, candidates))

    # No transaction is open here: the provider calls may take seconds.
    hand_offs = messages_hand_off(attempts)
    outcomes = [hand_off_outcome(h, report) for h in hand_offs]

    with transaction.atomic():
        outcomes_apply(outcomes, also=changes, actor=DISPATCH_ACTOR, source="dispatch")
        changes.extend(c for o in outcomes if (c := o.change) is not None)
        _schedule_follow_ups(changes, messages, report)
    report.failed = sum(1 for c in changes if c.to == S.FAILED)
    return report


class _Renderer:
    """Renders a batch's messages. Rendering is deterministic, so one variant with the same
    data (a broadcast without personal fields, a batch of one template) is rendered once, and
    each version's variant is chosen once per channel and locale."""

    def __init__(self) -> None:
        self.variants: dict[tuple[int, str, str], TemplateVariant | None] = {}
        self.outcomes: dict[tuple[int, str], RenderedContent | RenderError] = {}
        self.uses_unsubscribe: dict[int, bool] = {}

    def __call__(self, message: Message) -> RenderedContent:
        notification = message.notification
        version = notification.template_version
        where = (version.pk, message.channel, message.locale)
        if where not in self.variants:
            self.variants[where] = variant_select(
                list(version.variants.all()),
                channel=message.channel,
                locale=message.locale,
                default_locale=notification.template.default_locale,
            )
        variant = self.variants[where]
        if variant is None:
            raise RenderError(f"The template version has no {message.channel} content.")
        data = notification.data
        if variant.pk not in self.uses_unsubscribe:
            self.uses_unsubscribe[variant.pk] = UNSUBSCRIBE in used_names([variant])
        if self.uses_unsubscribe[variant.pk]:
            # Reserved (SPEC §2): the hub's own signed /u/ link for this contact and channel in
            # every marketing message; never the caller's. Rendered per message, as it differs.
            link = ""
            if message.category == "marketing":
                link = unsubscribe_url(
                    message_id=str(message.id), contact_id=notification.contact_id, channel=message.channel
                )
            data = {**data, UNSUBSCRIBE: link}
        key = (variant.pk, json.dumps(data, sort_keys=True, default=str))
        outcome = self.outcomes.get(key)
        if outcome is None:
            try:
                outcome = variant_render(variant, data)
            except RenderError as exc:
                outcome = exc
            self.outcomes[key] = outcome
        if isinstance(outcome, RenderError):
            raise outcome
        return outcome


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
        due = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=S.DEFERRED, not_before__lte=now)
            .select_related("notification__contact")[:5000]
        )
        # Decided again: consent, suppressions and rules may have changed while it waited.
        changes = messages_decide(due, contacts={m.id: m.notification.contact for m in due}, now=now)
        messages_transition(changes, actor=DISPATCH_ACTOR, source="scheduler")
        due_ids = [m.id for m in due]
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
