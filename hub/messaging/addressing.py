"""Where a message goes: its address, chosen when it is made (``address_of``); the guard that
keeps suppressed addresses and removed devices from any provider; and the OutboundMessage a
provider is handed (device, unsubscribe link).

SMS and email go to the address given inline by the caller, else the contact's. Push messages
are addressed to one device, ``device:<pk>`` (the contact's newest active device, chosen at
accept time), or to an inline FCM token given by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from django.conf import settings

from audit.services import Actor
from hub.contacts.models import Contact, Device, DeviceKind
from hub.contacts.selectors import suppressions_active
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.links import push_receipt_url, unsubscribe_url
from hub.messaging.models import BlockReason, Message
from hub.messaging.models import MessageStatus as S
from hub.providers.base import OutboundMessage
from templates_app.rendering import RenderedContent

DEVICE_PREFIX = "device:"


def device_id_of(address: str) -> int | None:
    """The Device pk a push message is addressed to (``device:<pk>``), or None for a raw token."""
    if address.startswith(DEVICE_PREFIX):
        try:
            return int(address[len(DEVICE_PREFIX) :])
        except ValueError:
            return None
    return None


def newest_devices(contact_ids: Iterable[int]) -> dict[int, int]:
    """Each of these contacts' newest active device (contact id → device id), in one query."""
    ids = set(contact_ids)
    if not ids:
        return {}
    newest: dict[int, int] = {}
    rows = (
        Device.objects.filter(contact_id__in=ids, removed_at__isnull=True)
        .order_by("contact_id", "-created_at", "-pk")
        .values_list("contact_id", "pk")
    )
    for contact_id, device_id in rows:
        newest.setdefault(contact_id, device_id)
    return newest


def address_of(
    channel: str, to: Mapping[str, Any], contact: Contact | None, devices: Mapping[int, int]
) -> str:
    """The address a message on ``channel`` is made with ("" when there is none): the inline
    one in ``to``, else the contact's. ``devices`` is ``newest_devices`` of the contacts."""
    if channel == "sms":
        return str(to.get("phone") or (contact.phone if contact else ""))
    if channel == "email":
        return str(to.get("email") or (contact.email if contact else ""))
    if channel == "push":
        if to.get("push"):
            return str(to["push"])
        device_id = devices.get(contact.pk) if contact else None
        return f"device:{device_id}" if device_id is not None else ""
    return ""


def messages_block_undeliverable(*, message_ids: list[UUID], actor: Actor) -> None:
    """Queued messages to a suppressed address, or to a push device since removed, are blocked
    here, so that no provider is ever handed them (the compliance engine decides earlier; this
    is the last line)."""
    # Read by key, the status checked here: a status in the statement lets the planner walk the
    # queue instead whenever its statistics think it short (see ``lifecycle.messages_claim``).
    rows = [
        (message_id, channel, to)
        for message_id, status, channel, to in Message.objects.filter(id__in=message_ids).values_list(
            "id", "status", "channel", "to"
        )
        if status == S.QUEUED
    ]
    if not rows:
        return
    suppressed = suppressions_active(
        pairs={(channel, to) for _, channel, to in rows if to and channel != "push"}
    )
    device_ids = {d for _, channel, to in rows if channel == "push" and (d := device_id_of(to)) is not None}
    active = set(
        Device.objects.filter(pk__in=device_ids, removed_at__isnull=True).values_list("pk", flat=True)
    )
    changes = []
    for message_id, channel, to in rows:
        if (channel, to) in suppressed:
            changes.append(Change(message_id, S.BLOCKED, {"block_reason": BlockReason.SUPPRESSED}))
        elif (device_id := device_id_of(to)) is not None and device_id not in active:
            changes.append(Change(message_id, S.BLOCKED, {"block_reason": BlockReason.NO_ADDRESS}))
    messages_transition(changes, actor=actor, source="dispatch")


def push_devices_of(messages: list[Message]) -> dict[int, Device]:
    ids = {d for m in messages if m.channel == "push" and (d := device_id_of(m.to)) is not None}
    if not ids:
        return {}
    return {d.pk: d for d in Device.objects.filter(pk__in=ids, removed_at__isnull=True)}


def outbound_message(
    message: Message, content: RenderedContent, devices: dict[int, Device]
) -> OutboundMessage | None:
    """What the provider gets. None when the push device it was addressed to is gone."""
    metadata: dict[str, Any] = {"template": message.notification.template.key}
    to = message.to
    callback = ""
    notification = message.notification
    if message.channel == "sms" and notification.sms_sender:
        metadata["sms_sender"] = notification.sms_sender
    if message.channel == "email" and notification.email_reply_to:
        metadata["reply_to"] = notification.email_reply_to
    if message.channel == "sms":
        # Our id in the URL (Twilio signs it too): a report that overtakes the recording of
        # the hand-off, before the provider's id is stored, still finds its message.
        callback = f"{settings.HUB_BASE_URL}/webhooks/twilio/status?message={message.id}"
    elif message.channel == "email" and message.category == "marketing":
        metadata["unsubscribe_url"] = unsubscribe_url(
            message_id=str(message.id), contact_id=message.notification.contact_id, channel="email"
        )
    elif message.channel == "push":
        metadata["receipt_url"] = push_receipt_url(message_id=str(message.id))
        device_id = device_id_of(message.to)
        if device_id is None:
            metadata["device_kind"] = DeviceKind.FCM  # an inline FCM token
        else:
            device = devices.get(device_id)
            if device is None:
                return None
            to = device.token
            metadata["device_kind"] = device.kind
            metadata["subscription"] = device.subscription
    return OutboundMessage(
        message_id=str(message.id),
        channel=message.channel,
        to=to,
        content=content.as_dict(),
        category=message.category,
        status_callback_url=callback,
        metadata=metadata,
    )
