"""The sandbox provider: nothing leaves the machine; the message lands in the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hub.providers.base import OutboundMessage, Provider, SendResult
from hub.providers.errors import ProviderError
from hub.providers.models import SandboxOutboxEntry


class SandboxProvider(Provider):
    """Any channel. Delivery is simulated: the hub is told the message arrived."""

    def __init__(self, name: str, **options: object) -> None:
        channel = str(options.pop("channel", ""))
        super().__init__(name, **options)
        self.channel_name = channel

    def _send(self, message: OutboundMessage) -> SendResult:
        result = self.send_many([message])[0]
        if isinstance(result, ProviderError):
            raise result
        return result

    def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult | ProviderError]:
        """One multi-row insert for the whole batch (the outbox is the sandbox's "network")."""
        entries = [
            SandboxOutboxEntry(
                provider=self.name,
                channel=m.channel,
                provider_message_id=f"sbx_{uuid.uuid4().hex}",
                message_id=m.message_id,
                to=m.to,
                content=dict(m.content),
            )
            for m in messages
        ]
        SandboxOutboxEntry.objects.bulk_create(entries, batch_size=1000)
        return [
            SendResult(provider_message_id=e.provider_message_id, simulated_delivery=True) for e in entries
        ]
