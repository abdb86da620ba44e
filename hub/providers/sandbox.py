"""The sandbox provider: nothing leaves the machine; the message lands in the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hub.providers.base import (
    OutboundMessage,
    Provider,
    SendResult,
    email_message_id,
    list_unsubscribe_headers,
)
from hub.providers.errors import ProviderError
from hub.providers.models import SandboxOutboxEntry


def _headers(message: OutboundMessage) -> dict[str, str]:
    """The headers a real email provider would send with this message, for the outbox page."""
    if message.channel != "email":
        return {}
    headers = {
        "Message-ID": email_message_id(message.message_id),
        "To": message.to,
        "Subject": message.content.get("subject", ""),
    }
    if reply_to := message.metadata.get("reply_to", ""):
        headers["Reply-To"] = reply_to
    return {**headers, **list_unsubscribe_headers(message)}


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
                headers=_headers(m),
            )
            for m in messages
        ]
        SandboxOutboxEntry.objects.bulk_create(entries, batch_size=1000)
        return [
            SendResult(provider_message_id=e.provider_message_id, simulated_delivery=True) for e in entries
        ]
