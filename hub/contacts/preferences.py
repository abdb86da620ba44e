"""Preferences (consent per category x channel, derived from the ledger) and the signed
links to the hosted unsubscribe and preferences page at ``/u/{token}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction

from audit.services import Actor
from hub.contacts.models import ConsentEntry, Contact
from hub.contacts.selectors import consent_state
from hub.contacts.services import consent_record

CATEGORIES = ("marketing", "transactional")
CHANNELS = ("email", "sms", "push")
_SALT = "switchboard.unsubscribe.v1"


@dataclass(frozen=True)
class Preference:
    category: str
    channel: str
    granted: bool | None  # None: nothing recorded yet


def preferences_get(*, contact: Contact) -> list[Preference]:
    """Every category x channel with the current state from the consent ledger."""
    state = consent_state(contact=contact)
    return [Preference(cat, ch, state.get((ch, cat))) for cat in CATEGORIES for ch in CHANNELS]


def preferences_set(
    *,
    contact: Contact,
    choices: Mapping[tuple[str, str], bool],
    source: str,
    actor: Actor,
    evidence: Mapping[str, Any] | None = None,
) -> list[ConsentEntry]:
    """Record ``{(category, channel): granted}``: one ledger entry per choice that differs from
    the current state (setting what is already recorded writes nothing). Returns the entries."""
    with transaction.atomic():
        Contact.objects.select_for_update().filter(pk=contact.pk).first()
        state = consent_state(contact=contact)
        return [
            consent_record(
                contact=contact,
                channel=channel,
                purpose=category,
                granted=granted,
                source=source,
                actor=actor,
                evidence=evidence,
            )
            for (category, channel), granted in choices.items()
            if state.get((channel, category)) is not granted
        ]


@dataclass(frozen=True)
class UnsubscribeScope:
    contact_id: int
    channel: str  # "" means every channel
    category: str
    message_id: str = ""  # the message the link was sent in ("" for a link from elsewhere)


def unsubscribe_token(
    contact: Contact, *, channel: str = "email", category: str = "marketing", message_id: str = ""
) -> str:
    """A signed, non-expiring token naming the contact and what one click unsubscribes from
    (``channel=""`` means every channel), and the message it was sent in (for the reports)."""
    data: dict[str, Any] = {"c": contact.pk, "ch": channel, "cat": category}
    if message_id:
        data["m"] = message_id
    return signing.dumps(data, salt=_SALT, compress=True)


def unsubscribe_url(
    contact: Contact, *, channel: str = "email", category: str = "marketing", message_id: str = ""
) -> str:
    """The public ``/u/{token}`` link for List-Unsubscribe headers (with List-Unsubscribe-Post:
    List-Unsubscribe=One-Click) and template footers."""
    token = unsubscribe_token(contact, channel=channel, category=category, message_id=message_id)
    return f"{settings.HUB_BASE_URL}/u/{token}"


def unsubscribe_token_read(token: str) -> UnsubscribeScope | None:
    """What a token names, or None if it is forged or damaged."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    channel, category = str(data.get("ch") or ""), str(data.get("cat") or "marketing")
    if (channel and channel not in CHANNELS) or category not in CATEGORIES:
        return None
    return UnsubscribeScope(data["c"], channel, category, str(data.get("m") or ""))


def one_click_unsubscribe(
    *, scope: UnsubscribeScope, contact: Contact, evidence: Mapping[str, Any]
) -> list[ConsentEntry]:
    """RFC 8058 one-click: withdraw the token's category on its channel (or on every channel)."""
    channels = (scope.channel,) if scope.channel else CHANNELS
    return preferences_set(
        contact=contact,
        choices={(scope.category, ch): False for ch in channels},
        source="one_click",
        actor=Actor.system(),
        evidence=evidence,
    )
