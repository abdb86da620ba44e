"""The naive baseline: what a first version of a hub does. One Celery task per message, ORM
reads and saves at every step, one provider call per message on a fresh client, one audit
append per fact. It keeps the same guarantees (conditional claim, lifecycle, audit), so the
comparison is about engineering, not about skipping work."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.services import Actor, audit_append
from hub.messaging.models import EventKind, Message, MessageEvent
from hub.messaging.models import MessageStatus as S
from hub.providers.base import OutboundMessage
from hub.providers.errors import ProviderError
from templates_app.models import TemplateVariant
from templates_app.rendering import variant_render


def _set_status(message: Message, status: str, **fields: str) -> None:
    with transaction.atomic():
        previous = message.status
        message.status = status
        message.status_changed_at = timezone.now()
        for name, value in fields.items():
            setattr(message, name, value)
        message.save()
        MessageEvent.objects.create(
            message=message, kind=EventKind.STATUS, status=status, source="naive", occurred_at=timezone.now()
        )
        audit_append(
            actor=Actor.system(),
            action="message.status_changed",
            object_type="message",
            object_id=message.id,
            payload={"from": previous, "to": status},
        )


@shared_task(name="bench.naive.naive_send", soft_time_limit=90, time_limit=110)
def naive_send(message_id: str) -> None:
    with transaction.atomic():
        claimed = Message.objects.filter(id=UUID(message_id), status=S.QUEUED).update(status=S.SENDING)
    if not claimed:
        return
    message = Message.objects.get(id=UUID(message_id))
    notification = message.notification
    version = notification.template_version
    variant = TemplateVariant.objects.get(version=version, channel=message.channel, locale="en")
    content = variant_render(variant, notification.data)
    _set_status(message, S.SENDING)
    entry = settings.HUB_PROVIDERS[message.channel][0]
    provider = import_string(entry["BACKEND"])(
        entry["NAME"], **dict(entry.get("OPTIONS", {}))
    )  # a fresh client
    try:
        result = provider.send(
            OutboundMessage(
                message_id=str(message.id), channel=message.channel, to=message.to, content=content.as_dict()
            )
        )
    except ProviderError as exc:
        _set_status(message, S.FAILED, error_code=exc.code[:32])
        return
    _set_status(message, S.SENT, provider=entry["NAME"], provider_message_id=result.provider_message_id)
