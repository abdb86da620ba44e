"""An API key's daily quota (notifications per UTC day), counted in hub.apikeys.ratelimit.
One place for the key's counter, used when a request is accepted and when a broadcast whose
audience is a filter starts."""

from __future__ import annotations

from hub.apikeys.models import ApiKey
from hub.apikeys.ratelimit import Decision, quota_consume, quota_refund


def apikey_quota_take(*, api_key: ApiKey, cost: int) -> Decision:
    """Count ``cost`` against the key's quota for today; refused (counting nothing, with the
    seconds to midnight UTC as the wait) if it would go over. Always allowed without a quota."""
    if api_key.daily_quota is None or cost <= 0:
        return Decision(True)
    return quota_consume(key=f"apikey:{api_key.prefix}", limit=api_key.daily_quota, cost=cost)


def apikey_quota_refund(*, api_key: ApiKey, cost: int) -> None:
    """Give back what apikey_quota_take counted, for work that was then not done."""
    if api_key.daily_quota is not None and cost > 0:
        quota_refund(key=f"apikey:{api_key.prefix}", cost=cost)
