"""Creating and steering broadcasts: create (API), start, pause, resume, cancel, and the beat
job that starts due ones and releases batches."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.apikeys.models import ApiKey
from hub.apikeys.quota import apikey_quota_refund, apikey_quota_take
from hub.apikeys.services import apikey_may_send
from hub.broadcasts.fanout import broadcast_release_batch
from hub.broadcasts.models import (
    AudienceKind,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientState,
)
from hub.contacts.models import Contact
from hub.messaging.models import Routing
from templates_app.models import Template
from templates_app.rendering import version_channels

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class BroadcastRejected(Exception):
    """The request cannot be carried out. ``code`` is stable; ``field`` names the culprit."""

    def __init__(self, code: str, detail: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status


class BroadcastQuotaExceeded(BroadcastRejected):
    """The key's daily quota cannot cover the audience the filter matched at start."""

    def __init__(self, *, recipients: int, daily_quota: int, retry_after: float) -> None:
        super().__init__(
            "quota_exceeded",
            f"This broadcast would send to {recipients} contacts; this API key may send "
            f"{daily_quota} notifications per UTC day.",
            status=429,
        )
        self.recipients = recipients
        self.retry_after = retry_after


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


def attribute_filter_query(attribute_filter: Mapping[str, Any]) -> Q:
    """``{"tier": "gold", "region": ["north", "east"]}``: every key must match; a list means
    any of its values. Keys are plain names (letters, digits, underscore)."""
    query = Q()
    for name, value in attribute_filter.items():
        if not ATTRIBUTE_NAME.match(name):
            raise BroadcastRejected(
                "invalid_filter", f"'{name}' is not an attribute name.", field=f"audience.filter.{name}"
            )
        if isinstance(value, list):
            query &= Q(**{f"attributes__{name}__in": value})
        else:
            query &= Q(**{f"attributes__{name}": value})
    return query


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


def recipients_write(broadcast: Broadcast, rows: Iterable[BroadcastRecipient]) -> tuple[int, int]:
    """Save rows in batches; a repeated recipient key is saved as a skipped duplicate.
    Returns (valid, skipped)."""
    seen: dict[str, int] = {}
    valid = skipped = 0
    batch: list[BroadcastRecipient] = []
    for row in rows:
        if row.state == RecipientState.PENDING:
            first = seen.setdefault(row.recipient_key, row.row)
            if first != row.row:
                row.state, row.error = RecipientState.SKIPPED, f"duplicate of row {first}"
        if row.state == RecipientState.PENDING:
            valid += 1
        else:
            skipped += 1
        batch.append(row)
        if len(batch) >= 2000:
            BroadcastRecipient.objects.bulk_create(batch)
            batch = []
    BroadcastRecipient.objects.bulk_create(batch)
    return valid, skipped


def _materialise_filter(broadcast: Broadcast) -> None:
    """Write one recipient per contact matching the filter, at start time, in one
    ``INSERT … SELECT`` (no contact passes through Python). External ids are unique, so no
    row is a duplicate: every row is valid, numbered in contact order."""
    audience = (
        Contact.objects.filter(attribute_filter_query(broadcast.audience_filter))
        .annotate(position=Window(RowNumber(), order_by=F("id").asc()))
        .order_by()
        .values_list("position", "external_id")
    )
    select_sql, select_params = audience.query.sql_with_params()
    meta = BroadcastRecipient._meta
    quote = connection.ops.quote_name
    columns = ["broadcast", "row", "recipient_key", "external_id", "to", "data", "state", "error"]
    names = ", ".join(quote(str(meta.get_field(name).column)) for name in columns)  # type: ignore[union-attr]
    json_type = meta.get_field("data").db_type(connection)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608 - identifiers from model meta
        f"SELECT %s, position, external_id, external_id, CAST(%s AS {json_type}), "
        f"CAST(%s AS {json_type}), %s, %s FROM ({select_sql}) AS audience"
    )
    broadcast_pk = Broadcast._meta.pk.get_db_prep_value(broadcast.id, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [broadcast_pk, "{}", "{}", RecipientState.PENDING, "", *select_params])
        valid = cursor.rowcount
    broadcast.total, broadcast.skipped, broadcast.audience_ready = valid, 0, True


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
        _materialise_filter(broadcast)
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
    """Start a draft (the admin CSV flow, after its validation report)."""
    with transaction.atomic():
        locked = (
            Broadcast.objects.select_for_update(of=("self",)).select_related("template").get(id=broadcast.id)
        )
        if locked.status != BroadcastStatus.DRAFT:
            raise BroadcastRejected(
                "not_draft", f"This broadcast is {locked.status}; only a draft can start."
            )
        if not locked.audience_ready:
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
    """A scheduled broadcast whose audience no longer fits its key's quota is cancelled,
    sending nothing (its materialised recipients were rolled back), and the reason audited."""
    with transaction.atomic():
        locked = (
            Broadcast.objects.select_for_update(of=("self",))
            .filter(id=broadcast_id, status=BroadcastStatus.SCHEDULED)
            .first()
        )
        if locked is None:
            return
        locked.status, locked.finished_at = BroadcastStatus.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        audit_append(
            actor=actor,
            action="broadcast.quota_exceeded",
            object_type="broadcast",
            object_id=locked.id,
            payload={"recipients": exc.recipients, "detail": exc.detail},
        )
