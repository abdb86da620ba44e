"""Reading notifications and messages, always within what one API key may see."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from audit.rows import json_dumps
from hub.apikeys.models import ApiKey
from hub.messaging.models import Message, MessageEvent, Notification


def _messages_with_events() -> QuerySet[Message]:
    return Message.objects.order_by("created_at").prefetch_related(
        Prefetch("events", queryset=MessageEvent.objects.order_by("occurred_at", "id"))
    )


def notification_get(*, notification_id: UUID, api_key: ApiKey) -> Notification | None:
    """The notification with its messages and their timelines, if this key created it."""
    return (
        Notification.objects.filter(id=notification_id, api_key=api_key)
        .select_related("template", "template_version", "contact")
        .prefetch_related(Prefetch("messages", queryset=_messages_with_events()))
        .first()
    )


def message_get(*, message_id: UUID, api_key: ApiKey) -> Message | None:
    """One message with its timeline, if this key created its notification."""
    return _messages_with_events().filter(id=message_id, notification__api_key=api_key).first()


ADDRESS_WITHHELD = "[address]"


def _withheld(value: Any, address: str) -> Any:
    """``value`` (a string, or strings within lists and dicts) with ``address`` replaced."""
    if isinstance(value, str):
        folded = value.casefold()
        for form in (address, address.removeprefix("+")):
            if form and form.casefold() in folded:  # most texts hold no address: no regex
                value = re.sub(re.escape(form), ADDRESS_WITHHELD, value, flags=re.IGNORECASE)
                folded = value.casefold()
        return value
    if isinstance(value, dict):
        return {k: _withheld(v, address) for k, v in value.items()}
    if isinstance(value, list):
        return [_withheld(v, address) for v in value]
    return value


# Providers quote the address they refused (Twilio 21211 names the number, mail servers the
# mailbox, and SendGrid passes that on as a bounce's ``reason``). A key sending to an
# ``external_id`` holds no ``contacts:read`` and must not learn the contact's phone, email or
# device token from them, so the API shows these without the message's own address. Staff
# see the full text in the admin.


def message_error_shown(message: Message) -> str:
    """The provider's error text as the API shows it: without the message's own address."""
    return str(_withheld(message.error_message, message.to)) if message.to else message.error_message


def event_detail_shown(event: MessageEvent) -> Any:
    """An event's detail as the API shows it: without its message's own address."""
    address = event.message.to
    return _withheld(event.detail, address) if address and _may_hold(event.detail, address) else event.detail


# What JSON writes otherwise than as itself (ensure_ascii off): an address holding one of these
# might not appear as such in a value's JSON text.
_JSON_ESCAPED = frozenset('"\\') | frozenset(chr(c) for c in range(0x20))


# ``json.dumps(value, ensure_ascii=False, default=str)``, its encoder made once (a batch's
# answer looks at two events a notification).
_json_text = json_dumps(default=str, ascii_only=False)


def _may_hold(value: Any, address: str) -> bool:
    """False when no string within ``value`` can hold ``address`` (so ``_withheld`` would
    change nothing): one look at its JSON text, casefolded, instead of a walk through it. A
    string holding the address (casefolded) puts it, unescaped, in the text; keys and
    numbers in the text only make this say True more often, never less."""
    if not _JSON_ESCAPED.isdisjoint(address):
        return True
    try:
        text = _json_text(value)
    except (TypeError, ValueError, RecursionError):  # not plain JSON: walk it
        return True
    folded = text.casefold()
    return any(form and form.casefold() in folded for form in (address, address.removeprefix("+")))
