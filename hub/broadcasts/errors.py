"""Why a broadcast request or action is refused: a stable code, the field to blame, a status."""

from __future__ import annotations

from hub.refusals import Refused


class BroadcastRejected(Refused):
    """The broadcast request or action cannot be carried out."""


class BroadcastQuotaExceeded(BroadcastRejected):
    """The key's daily quota cannot cover the audience the filter matched at start."""

    def __init__(self, *, recipients: int, daily_quota: int, retry_after: float) -> None:
        super().__init__(
            "quota_exceeded",
            f"This broadcast would send to {recipients} contacts; this API key may send "
            f"{daily_quota} notifications per UTC day.",
            status=429,
        )
        self.recipients = recipients
        self.retry_after = retry_after
