"""Links the hub puts into messages.

``unsubscribe_url`` is the one place the List-Unsubscribe link is built; the compliance
work replaces its body with the real preference-centre token (SPEC §5, ``/u/{token}``).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

UNSUBSCRIBE_SALT = "hub.unsubscribe"
PUSH_RECEIPT_SALT = "hub.push-receipt"


def unsubscribe_url(*, message_id: str, contact_id: int | None, channel: str) -> str:
    """A signed one-click unsubscribe URL for this message's recipient (RFC 8058)."""
    token = signing.dumps(
        {"m": message_id, "c": contact_id, "ch": channel}, salt=UNSUBSCRIBE_SALT, compress=True
    )
    return f"{settings.HUB_BASE_URL}/u/{token}"


def push_receipt_url(*, message_id: str) -> str:
    """A signed URL the app or service worker POSTs to when it shows the push: FCM and Web Push
    give no delivery reports of their own, so this receipt is what marks a push delivered."""
    token = signing.dumps(message_id, salt=PUSH_RECEIPT_SALT)
    return f"{settings.HUB_BASE_URL}/webhooks/push/receipt/{token}"
