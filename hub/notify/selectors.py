"""Reads for ``/v2/``: a service's notifications (as Notify scopes them: test keys see only
test notifications, live and team keys the rest), templates by UUID and version, received
texts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db.models import Prefetch, Q, QuerySet

from hub.contacts.models import InboundMessage
from hub.messaging.models import Message, MessageEvent
from hub.notify.models import KeyType, NotifyKey, NotifyNotification
from hub.notify.statuses import status_filter
from templates_app.models import Template, TemplateVersion

PAGE_SIZE = 250


def _visible_types(notify_key: NotifyKey) -> list[str]:
    return [KeyType.TEST] if notify_key.key_type == KeyType.TEST else [KeyType.NORMAL, KeyType.TEAM]


def _service_notifications(notify_key: NotifyKey) -> QuerySet[NotifyNotification]:
    return (
        NotifyNotification.objects.filter(
            service_id=notify_key.service_id, key_type__in=_visible_types(notify_key)
        )
        .select_related("notification__template", "notification__template_version")
        .prefetch_related(
            Prefetch(
                "notification__messages",
                queryset=Message.objects.order_by("created_at").prefetch_related(
                    Prefetch("events", queryset=MessageEvent.objects.order_by("occurred_at", "id"))
                ),
            )
        )
    )


def notify_notification_get(
    *, notify_key: NotifyKey, notification_id: uuid.UUID
) -> NotifyNotification | None:
    return _service_notifications(notify_key).filter(notification_id=notification_id).first()


def notify_notifications_page(
    *,
    notify_key: NotifyKey,
    statuses: Sequence[str] = (),
    types: Sequence[str] = (),
    reference: str | None = None,
    older_than: uuid.UUID | None = None,
) -> list[NotifyNotification]:
    """Up to 250, newest first; ``older_than`` a notification id of this service (an unknown
    one gives an empty page, as in Notify)."""
    queryset = _service_notifications(notify_key)
    if statuses:
        queryset = queryset.filter(
            notification__messages__in=Message.objects.filter(status_filter(list(statuses)))
        ).distinct()
    if types:
        queryset = queryset.filter(type__in=list(types))
    if reference is not None:
        queryset = queryset.filter(reference=reference)
    if older_than is not None:
        anchor = (
            _service_notifications(notify_key)
            .filter(notification_id=older_than)
            .values_list("notification__created_at", flat=True)
            .first()
        )
        if anchor is None:
            return []
        queryset = queryset.filter(
            Q(notification__created_at__lt=anchor)
            | Q(notification__created_at=anchor, notification_id__lt=older_than)
        )
    return list(queryset.order_by("-notification__created_at", "-notification_id")[:PAGE_SIZE])


def _exposed_versions() -> QuerySet[TemplateVersion]:
    # Versions that were ever live; drafts, reviews and rejected versions never show in /v2/.
    return TemplateVersion.objects.filter(approvals__isnull=False).distinct()


def notify_template_get(*, template_id: uuid.UUID, version: int | None = None) -> TemplateVersion | None:
    """The live version of the template with this UUID, or its version ``version`` if that
    version was ever approved."""
    if version is None:
        template = Template.objects.select_related("live_version").filter(uuid=template_id).first()
        return template.live_version if template is not None else None
    return (
        _exposed_versions()
        .select_related("template")
        .filter(template__uuid=template_id, number=version)
        .first()
    )


def notify_templates_live(*, channel: str | None) -> list[TemplateVersion]:
    """Every template's live version (with content on ``channel``, if given), by name."""
    queryset = (
        TemplateVersion.objects.filter(
            pk__in=Template.objects.filter(live_version__isnull=False).values("live_version")
        )
        .select_related("template", "author")
        .prefetch_related("variants")
        .order_by("template__name", "template__key")
    )
    if channel:
        queryset = queryset.filter(variants__channel=channel).distinct()
    return list(queryset)


def received_texts_page(*, older_than: int | None = None) -> list[InboundMessage]:
    """Inbound SMS, newest first, up to 250."""
    queryset = InboundMessage.objects.filter(channel="sms")
    if older_than is not None:
        queryset = queryset.filter(pk__lt=older_than)
    return list(queryset.order_by("-pk")[:PAGE_SIZE])


def notify_template_versions(*, template_id: uuid.UUID) -> list[TemplateVersion]:
    """Every version of the template that was ever live, newest first."""
    return list(
        _exposed_versions()
        .filter(template__uuid=template_id)
        .select_related("template", "author")
        .prefetch_related("variants")
        .order_by("-number")
    )
