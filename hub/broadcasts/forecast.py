"""Before Start: check everything that will decide a broadcast's rows, and forecast what the
compliance engine will do with their messages.

A row is skipped here, with its reason in words, when its data lacks a variable the live
version requires or it has no address on any chosen channel: the fan-out would refuse or block
it anyway. The rows left are addressed as the intake will address them
(``messaging.addressing.address_of``) and decided by the same engine the intake uses
(``messaging.decide.messages_decide``) at the time the broadcast is due, writing nothing. The
forecast counts messages (one per recipient with routing ``first``, one per channel with
``all``), so the report says how many would be blocked or deferred, and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.broadcasts.models import Broadcast, BroadcastRecipient, RecipientState
from hub.contacts.models import Contact
from hub.ids import uuid7
from hub.messaging.addressing import address_of, newest_devices
from hub.messaging.decide import messages_decide
from hub.messaging.models import BlockReason, Message, Routing
from hub.messaging.models import MessageStatus as S
from templates_app.rendering import validate_data, version_channels
from templates_app.rendering.variables import RESERVED_VARIABLES

DECIDE_CHUNK = 5000
CHANNEL_WORDS = {"sms": "phone number", "email": "email address", "push": "push device"}


def _words(channels: Sequence[str]) -> str:
    return " or ".join(CHANNEL_WORDS.get(c, c) for c in channels)


def broadcast_rows_check(
    broadcast: Broadcast,
    recipients: Sequence[BroadcastRecipient],
    contacts: Mapping[str, Contact],
    *,
    now: datetime,
) -> dict[str, Any]:
    """Skip the pending rows that would not make a message (missing data, no address on any
    chosen channel), each with its reason in words, and return the compliance forecast for
    the rest: ``{"channels", "routing", "messages", "allowed", "blocked": [{"reason", "count",
    "example"}], "deferred": [...], "ignored_columns"}``. Writes nothing."""
    version = broadcast.template.live_version
    if version is None:
        return {}
    channels = list(broadcast.channels) or list(version_channels(version))
    category = broadcast.template.category
    devices = newest_devices(c.pk for c in contacts.values()) if "push" in channels else {}
    messages: list[Message] = []
    without = 0  # messages the intake will block for want of an address (routing "first")
    contact_of: dict[Any, Contact | None] = {}
    seen: set[str] = set()
    for r in recipients:
        if r.state != RecipientState.PENDING or r.recipient_key in seen:
            continue  # duplicates are marked when the rows are written
        seen.add(r.recipient_key)
        if problems := validate_data(version, {**broadcast.data, **r.data}):
            message = " ".join(p.message for p in problems)
            r.state, r.error = RecipientState.SKIPPED, f"missing or wrong data: {message}"[:200]
            continue
        contact = contacts.get(r.external_id) if r.external_id else None
        addressed = [(channel, address_of(channel, r.to, contact, devices)) for channel in channels]
        reachable = [(channel, to) for channel, to in addressed if to]
        if not reachable:
            dropped = ", ".join(f"{column} '{value}'"[:60] for _, column, value in getattr(r, "dropped", ()))
            valid = f"valid {_words(channels)} ({dropped} invalid)" if dropped else _words(channels)
            r.state, r.error = RecipientState.SKIPPED, f"no address: the row has no {valid}"[:200]
            continue
        if broadcast.routing == Routing.FIRST:
            # As the intake does: a chosen channel before the first with an address still gets
            # its message, blocked for want of one (and the fallback moves on). The forecast
            # said "2 messages, 2 sent" where the send made 3, one blocked (seen on a screenshot).
            first = next(i for i, (_, to) in enumerate(addressed) if to)
            without += first
            made = addressed[first : first + 1]
        else:
            made = addressed
        for channel, to in made:
            message_row = Message(id=uuid7(), channel=channel, category=category, to=to)
            messages.append(message_row)
            contact_of[message_row.id] = contact
    when = broadcast.send_at if broadcast.send_at and broadcast.send_at > now else now
    allowed = 0
    blocked: dict[str, dict[str, Any]] = {}
    deferred: dict[str, dict[str, Any]] = {}
    labels = dict(BlockReason.choices)
    if without:
        reason = str(labels[BlockReason.NO_ADDRESS])
        blocked[reason] = {
            "reason": reason,
            "count": without,
            "example": "blocked: no address for this channel; the next chosen channel is tried",
        }
    for start in range(0, len(messages), DECIDE_CHUNK):
        chunk = messages[start : start + DECIDE_CHUNK]
        changes = messages_decide(chunk, contacts={m.id: contact_of[m.id] for m in chunk}, now=when)
        for change in changes:
            sentence = str(change.fields.get("decision", {}).get("sentence", ""))
            if change.to == S.BLOCKED:
                reason = str(labels.get(change.fields.get("block_reason", ""), "Blocked"))
                entry = blocked.setdefault(reason, {"reason": reason, "count": 0, "example": sentence})
                entry["count"] += 1
            elif change.to == S.DEFERRED:
                by = str(change.fields.get("decided_by") or "a rule")
                entry = deferred.setdefault(by, {"reason": by, "count": 0, "example": sentence})
                entry["count"] += 1
            else:
                allowed += 1
    columns = [c for c, role in (broadcast.column_mapping or {}).items() if role == "data"]
    return {
        "channels": channels,
        "routing": broadcast.routing,
        "decided_at": when.isoformat(),
        "messages": len(messages) + without,
        "allowed": allowed,
        "blocked": sorted(blocked.values(), key=lambda e: -e["count"]),
        "deferred": sorted(deferred.values(), key=lambda e: -e["count"]),
        "ignored_columns": sorted(c for c in columns if c in RESERVED_VARIABLES),
    }
