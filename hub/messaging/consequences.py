"""What a permanent provider error means beyond the message: the address is suppressed, the
person's consent withdrawn, or the push device removed. Runs inside the caller's transaction,
beside the status change, so that both commit together."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.utils import timezone

from audit.services import Actor, audit_append
from hub.contacts.models import ConsentSource, Contact, Device
from hub.contacts.services import consent_record, suppression_add
from hub.messaging.models import Message
from hub.providers.errors import PermanentProviderError, ProviderError

logger = logging.getLogger("hub.dispatch")

DEVICE_PREFIX = "device:"


def device_id_of(address: str) -> int | None:
    """The Device pk a push message is addressed to (``device:<pk>``), or None for a raw token."""
    if address.startswith(DEVICE_PREFIX):
        try:
            return int(address[len(DEVICE_PREFIX) :])
        except ValueError:
            return None
    return None


def provider_errors_apply(*, failures: Iterable[tuple[Message, str, ProviderError]]) -> None:
    """For each (message, provider, error): suppress, withdraw consent, remove the device, as
    the error says. Idempotent: a suppression that exists is kept, a removed device stays so."""
    now = timezone.now()
    for message, provider, error in failures:
        if not isinstance(error, PermanentProviderError):
            continue
        actor = Actor.provider(provider)
        detail = {"message": str(message.id), "provider": provider, "code": error.code}
        if error.suppress and message.to:
            suppression_add(
                channel=message.channel,
                address=message.to,
                reason=error.suppression_reason,
                actor=actor,
                detail=detail,
            )
        contact_id = message.notification.contact_id
        if error.withdraw_consent and contact_id is not None:
            consent_record(
                contact=Contact.objects.get(pk=contact_id),
                channel=message.channel,
                purpose="marketing",
                granted=False,
                source=ConsentSource.PROVIDER,
                actor=actor,
                evidence=detail,
            )
        if error.remove_device and message.channel == "push":
            device_id = device_id_of(message.to)
            devices = Device.objects.filter(removed_at__isnull=True)
            devices = (
                devices.filter(pk=device_id) if device_id is not None else devices.filter(token=message.to)
            )
            for pk in list(devices.values_list("pk", flat=True)):
                Device.objects.filter(pk=pk).update(removed_at=now)
                audit_append(
                    actor=actor, action="device.removed", object_type="device", object_id=pk, payload=detail
                )
