"""Links the hub puts into messages.

``unsubscribe_url`` is the one place dispatch builds the List-Unsubscribe link: the contact's
signed preference-centre link (SPEC §5, ``/u/{token}``) from ``hub.contacts.preferences``.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from hub.contacts import preferences
from hub.contacts.models import Contact

PUSH_RECEIPT_SALT = "hub.push-receipt"


def unsubscribe_url(*, message_id: str, contact_id: int | None, channel: str) -> str:
    """The recipient's signed one-click unsubscribe URL (RFC 8058), or "" for an inline
    address with no contact (nothing to unsubscribe; compliance blocks such marketing)."""
    if contact_id is None:
        return ""
    return preferences.unsubscribe_url(
        Contact(pk=contact_id), channel=channel, category="marketing", message_id=message_id
    )


def push_receipt_url(*, message_id: str) -> str:
    """A signed URL the app or service worker POSTs to when it shows the push: FCM and Web Push
    give no delivery reports of their own, so this receipt is what marks a push delivered."""
    token = signing.dumps(message_id, salt=PUSH_RECEIPT_SALT)
    return f"{settings.HUB_BASE_URL}/webhooks/push/receipt/{token}"
