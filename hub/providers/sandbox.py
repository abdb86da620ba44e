"""The sandbox provider: nothing leaves the machine; the message lands in the outbox."""

from __future__ import annotations

import uuid

from hub.providers.base import OutboundMessage, Provider, SendResult
from hub.providers.models import SandboxOutboxEntry


class SandboxProvider(Provider):
    """Any channel. Delivery is simulated: the hub is told the message arrived."""

    def __init__(self, name: str, **options: object) -> None:
        channel = str(options.pop("channel", ""))
        super().__init__(name, **options)
        self.channel_name = channel

    def _send(self, message: OutboundMessage) -> SendResult:
        provider_message_id = f"sbx_{uuid.uuid4().hex}"
        SandboxOutboxEntry.objects.create(
            provider=self.name,
            channel=message.channel,
            provider_message_id=provider_message_id,
            message_id=message.message_id,
            to=message.to,
            content=dict(message.content),
        )
        return SendResult(provider_message_id=provider_message_id, simulated_delivery=True)
