"""A provider that records its calls (and fails on demand), and queued messages to feed it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import connection

from audit.services import Actor
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message, MessageEvent, Notification
from hub.messaging.models import MessageStatus as S
from hub.providers.base import OutboundMessage, Provider, SendResult
from tests.factories import ORDER_DATA

ACTOR = Actor.system()
CALLS: list[OutboundMessage] = []
ERRORS: list[Exception] = []


class RecordingProvider(Provider):
    """A provider that records whether a transaction was open when it was called."""

    channel = "sms"

    def _send(self, message: OutboundMessage) -> SendResult:
        CALLS.append(message)
        assert not connection.in_atomic_block, "a transaction was open across the provider call"
        if ERRORS:
            raise ERRORS.pop(0)  # a ProviderError, or any exception to mimic a provider bug
        return SendResult(provider_message_id=f"rec-{len(CALLS)}")


RECORDING = {"sms": [{"NAME": "recording", "BACKEND": f"{__name__}.RecordingProvider"}]}


def queued_messages(template, count=1, to="+447911123456", data=None):
    notification = Notification.objects.create(
        template=template, template_version=template.live_version, data=data or ORDER_DATA
    )
    messages = Message.objects.bulk_create(
        Message(notification=notification, channel="sms", category="transactional", to=to, locale="en")
        for _ in range(count)
    )
    messages_transition([Change(m.id, S.QUEUED) for m in messages], actor=ACTOR, source="test")
    return messages


def claims(ids) -> list[set[UUID]]:
    """The messages each claim took, in order: a claim stamps its whole batch with one time."""
    stamps: dict[datetime, set[UUID]] = {}
    for message_id, at in MessageEvent.objects.filter(message_id__in=ids, status=S.SENDING).values_list(
        "message_id", "occurred_at"
    ):
        stamps.setdefault(at, set()).add(message_id)
    return [stamps[at] for at in sorted(stamps)]
