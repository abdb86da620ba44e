"""How a status callback is signed (and how a receiver checks it).

``Switchboard-Signature: v1=<hex>`` where ``<hex>`` is HMAC-SHA256, keyed with the
endpoint's secret, over ``"<Switchboard-Timestamp>.<raw body>"``. A receiver recomputes it,
compares in constant time, and refuses timestamps more than five minutes old.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Switchboard-Signature"
TIMESTAMP_HEADER = "Switchboard-Timestamp"
DELIVERY_HEADER = "Switchboard-Delivery"
TOLERANCE_SECONDS = 300


def callback_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def callback_signature_valid(
    *, secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None
) -> bool:
    """The receiver's check (also used by our tests): right secret, fresh timestamp."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((now or time.time()) - sent_at) > TOLERANCE_SECONDS:
        return False
    expected = callback_signature(secret=secret, timestamp=sent_at, body=body)
    return hmac.compare_digest(expected, signature)
