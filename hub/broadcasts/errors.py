"""Why a broadcast request or action is refused: a stable code, the field to blame, a status."""

from __future__ import annotations


class BroadcastRejected(Exception):
    """The request cannot be carried out. ``code`` is stable; ``field`` names the culprit."""

    def __init__(self, code: str, detail: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status


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
