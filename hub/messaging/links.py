"""Links the hub puts into messages.

``unsubscribe_url`` is the one place the List-Unsubscribe link is built; the compliance
work replaces its body with the real preference-centre token (SPEC §5, ``/u/{token}``).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

UNSUBSCRIBE_SALT = "hub.unsubscribe"


def unsubscribe_url(*, message_id: str, contact_id: int | None, channel: str) -> str:
    """A signed one-click unsubscribe URL for this message's recipient (RFC 8058)."""
    token = signing.dumps(
        {"m": message_id, "c": contact_id, "ch": channel}, salt=UNSUBSCRIBE_SALT, compress=True
    )
    return f"{settings.HUB_BASE_URL}/u/{token}"
