"""The audit record every accepted message gets, whichever way it was made (a notification, a
broadcast's fan-out, a fallback to the next channel)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from audit.digests import address_digest, digest_key_id
from audit.services import Actor, AuditEntry
from hub.messaging.models import Message


def accepted_entries(
    actor: Actor, messages: Iterable[Message], detail: Mapping[str, Any] | None = None
) -> Iterator[AuditEntry]:
    """``message.accepted`` for each message: its notification, channel and a keyed digest of
    its address (never the address itself) with the id of the digest key, plus ``detail``."""
    key_id = digest_key_id()
    for m in messages:
        yield AuditEntry(
            actor,
            "message.accepted",
            "message",
            str(m.id),
            {
                "notification": str(m.notification_id),
                "channel": m.channel,
                "to_digest": address_digest(m.to) if m.to else "",
                "digest_key": key_id,
                **(detail or {}),
            },
        )
