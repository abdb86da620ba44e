"""Creating and steering broadcasts: create (API), start, pause, resume, cancel, and the beat
job that starts due ones and releases batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.apikeys.models import ApiKey
from hub.apikeys.quota import apikey_quota_refund, apikey_quota_take
from hub.apikeys.services import apikey_may_send
from hub.broadcasts.audience import attribute_filter_query, materialise_filter, recipients_write
from hub.broadcasts.errors import BroadcastQuotaExceeded, BroadcastRejected
from hub.broadcasts.fanout import broadcast_release_batch
from hub.broadcasts.models import (
    AudienceKind,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
)
from hub.messaging.models import Routing
from templates_app.models import Template
from templates_app.rendering import version_channels


@dataclass(frozen=True)
class AudienceRow:
    external_id: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BroadcastRequest:
    template: str
    name: str = ""
    channels: Sequence[str] = ()
    routing: str = Routing.FIRST
    data: Mapping[str, Any] = field(default_factory=dict)
    reference: str = ""
    send_at: datetime | None = None
    rate_per_minute: int | None = None
    recipients: Sequence[AudienceRow] = ()
    attribute_filter: Mapping[str, Any] | None = None


def _template(key: str, channels: Sequence[str]) -> Template:
    template = Template.objects.select_related("live_version").filter(key=key).first()
    if template is None:
        raise BroadcastRejected(
            "unknown_template", f"There is no template with the key '{key}'.", field="template"
        )
    if template.live_version is None:
        raise BroadcastRejected(
            "template_not_live", f"Template '{key}' has no approved version yet.", field="template"
        )
    available = version_channels(template.live_version)
    for channel in channels:
        if channel not in available:
            raise BroadcastRejected(
                "channel_not_in_template",
                f"Template '{key}' has no {channel} content; it has {', '.join(available)}.",
                field="channels",
            )
    return template


def broadcast_cost_at_create(
    *, recipients: Sequence[AudienceRow], attribute_filter: Mapping[str, Any] | None
) -> int:
    """What creating a broadcast costs against its key's daily quota: the distinct external
    ids given. A filter audience costs nothing yet: it is counted when the broadcast starts,
    by the contacts it matches then (see _start)."""
    if attribute_filter is not None:
        return 0
    return len({row.external_id for row in recipients})


def broadcast_create(*, request: BroadcastRequest, api_key: ApiKey | None, actor: Actor) -> Broadcast:
    """Create a broadcast from the API: explicit recipients (de-duplicated, first row wins)
    or a filter on contact attributes (resolved when it starts). It is scheduled for
    ``send_at`` or running at once. Raises BroadcastRejected and writes nothing if invalid."""
    template = _template(request.template, request.channels)
    if api_key is not None and not apikey_may_send(
        api_key=api_key, template_key=template.key, category=template.category
    ):
        raise BroadcastRejected(
            "template_not_allowed",
            f"This API key's scopes do not allow sending '{template.key}' ({template.category}).",
            field="template",
            status=403,
        )
    if request.attribute_filter is not None:
        attribute_filter_query(request.attribute_filter)  # validates
    now = timezone.now()
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            name=request.name or f"{template.key} {now:%Y-%m-%d %H:%M}",
            api_key=api_key,
            template=template,
            channels=list(request.channels),
            routing=request.routing,
            data=dict(request.data),
            reference=request.reference,
            audience_kind=AudienceKind.FILTER
            if request.attribute_filter is not None
            else AudienceKind.RECIPIENTS,
            audience_filter=dict(request.attribute_filter or {}),
            send_at=request.send_at,
            rate_per_minute=request.rate_per_minute,
        )
        if request.attribute_filter is None:
            rows = recipients_write(
                broadcast,
                (
                    BroadcastRecipient(
                        broadcast=broadcast,
                        row=i,
                        recipient_key=r.external_id,
                        external_id=r.external_id,
                        data=dict(r.data),
                    )
                    for i, r in enumerate(request.recipients, start=1)
                ),
            )
            broadcast.total, broadcast.skipped = rows
            broadcast.audience_ready = True
            broadcast.save(update_fields=["total", "skipped", "audience_ready"])
        _start(broadcast, actor=actor, now=now)
    return broadcast


def _take_filter_quota(broadcast: Broadcast) -> int:
    """Count a filter audience, as matched at start, against the key's daily quota; raise
    BroadcastQuotaExceeded if it does not fit. Returns what was counted."""
    api_key = broadcast.api_key
    if api_key is None or broadcast.audience_kind != AudienceKind.FILTER:
        return 0
    decision = apikey_quota_take(api_key=api_key, cost=broadcast.total)
    if not decision.allowed:
        raise BroadcastQuotaExceeded(
            recipients=broadcast.total,
            daily_quota=api_key.daily_quota or 0,
            retry_after=decision.retry_after,
        )
    return broadcast.total


def _start(broadcast: Broadcast, *, actor: Actor, now: datetime, due: bool = False) -> None:
    scheduled = not due and broadcast.send_at is not None and broadcast.send_at > now
    counted = 0
    if not scheduled and not broadcast.audience_ready:
        materialise_filter(broadcast)
        counted = _take_filter_quota(broadcast)
    try:
        _mark_started(broadcast, actor=actor, now=now, scheduled=scheduled)
    except BaseException:
        if counted and broadcast.api_key is not None:
            apikey_quota_refund(api_key=broadcast.api_key, cost=counted)
        raise


def _mark_started(broadcast: Broadcast, *, actor: Actor, now: datetime, scheduled: bool) -> None:
    broadcast.status = BroadcastStatus.SCHEDULED if scheduled else BroadcastStatus.RUNNING
    fields = ["status"]
    if not scheduled:
        fields += ["total", "skipped", "audience_ready"]
        broadcast.started_at = now
        broadcast.rate_checked_at = now
        broadcast.rate_tokens = max(1.0, (broadcast.rate_per_minute or 0) / 6.0)
        fields += ["started_at", "rate_checked_at", "rate_tokens"]
    broadcast.save(update_fields=fields)
    audit_append(
        actor=actor,
        action="broadcast.started" if not scheduled else "broadcast.scheduled",
        object_type="broadcast",
        object_id=broadcast.id,
        payload={
            "template": broadcast.template.key,
            "audience": broadcast.audience_kind,
            "recipients": broadcast.total,
            "send_at": broadcast.send_at.isoformat() if broadcast.send_at else None,
            "rate_per_minute": broadcast.rate_per_minute,
        },
    )
    if not scheduled:
        from hub.broadcasts.tasks import release_broadcast

        transaction.on_commit(lambda: release_broadcast.delay(str(broadcast.id)))


def broadcast_start(*, broadcast: Broadcast, actor: Actor) -> Broadcast:
    """Start a draft (the admin CSV or segment flow, after its validation report); a
    segment's audience is fixed now, from the contacts it matches at this moment."""
    with transaction.atomic():
        locked = (
            Broadcast.objects.select_for_update(of=("self",)).select_related("template").get(id=broadcast.id)
        )
        if locked.status != BroadcastStatus.DRAFT:
            raise BroadcastRejected(
                "not_draft", f"This broadcast is {locked.status}; only a draft can start."
            )
        if not locked.audience_ready and locked.audience_kind != AudienceKind.FILTER:
            raise BroadcastRejected("audience_not_ready", "Map the CSV's columns first.")
        _start(locked, actor=actor, now=timezone.now())
    return locked


def broadcast_release(*, broadcast_id: UUID, seconds: float | None = None) -> int:
    """Release batches of one running broadcast: at least one, then more while ``seconds``
    (default ``HUB_BROADCAST_RELEASE_SECONDS``) last, so one huge broadcast never holds a
    worker for long. If time ran out with full batches still coming, another release is
    queued behind the work already waiting (``HUB_BROADCAST_RELEASE_FOLLOW_UP``), so the
    fan-out carries on at once rather than at the next beat. Returns how many recipients were released."""
    budget = settings.HUB_BROADCAST_RELEASE_SECONDS if seconds is None else seconds
    deadline = timezone.now().timestamp() + budget
    total = 0
    while True:
        released = broadcast_release_batch(broadcast_id=broadcast_id)
        total += released
        if released < settings.HUB_BROADCAST_BATCH_SIZE:
            return total
        if timezone.now().timestamp() >= deadline:
            if settings.HUB_BROADCAST_RELEASE_FOLLOW_UP:
                from hub.broadcasts.tasks import release_broadcast

                release_broadcast.delay(str(broadcast_id))
            return total


def broadcasts_start_due(*, actor: Actor | None = None) -> list[UUID]:
    """Beat: scheduled broadcasts whose ``send_at`` has come start; returns every running id."""
    now = timezone.now()
    due = list(
        Broadcast.objects.filter(status=BroadcastStatus.SCHEDULED, send_at__lte=now).values_list(
            "id", flat=True
        )
    )
    for broadcast_id in due:
        try:
            with transaction.atomic():
                locked = (
                    Broadcast.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("template", "api_key")
                    .filter(id=broadcast_id, status=BroadcastStatus.SCHEDULED)
                    .first()
                )
                if locked is not None:
                    _start(locked, actor=actor or Actor.system(), now=now, due=True)
        except BroadcastQuotaExceeded as exc:
            _cancel_over_quota(broadcast_id=broadcast_id, exc=exc, actor=actor or Actor.system())
    return list(Broadcast.objects.filter(status=BroadcastStatus.RUNNING).values_list("id", flat=True))


def _cancel_over_quota(*, broadcast_id: UUID, exc: BroadcastQuotaExceeded, actor: Actor) -> None:
    """A scheduled broadcast whose audience no longer fits its key's quota is cancelled like
    any other (its materialised recipients were rolled back, so nothing is sent), and the
    reason is audited."""
    from hub.broadcasts.steering import broadcast_cancel  # steering builds on this module

    try:
        broadcast_cancel(broadcast=Broadcast.objects.get(id=broadcast_id), actor=actor)
    except BroadcastRejected:
        return  # it ended or was cancelled meanwhile
    audit_append(
        actor=actor,
        action="broadcast.quota_exceeded",
        object_type="broadcast",
        object_id=broadcast_id,
        payload={"recipients": exc.recipients, "detail": exc.detail},
    )
