"""The daily quota as a context manager for views: take before the work, give back if the
work is refused, answer 429 ``quota_exceeded`` (with Retry-After: seconds to midnight UTC)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.api.problems import Problem
from hub.apikeys.models import ApiKey
from hub.apikeys.ratelimit import quota_consume, quota_refund


@contextmanager
def quota_take(*, api_key: ApiKey, cost: int) -> Iterator[None]:
    if api_key.daily_quota is None or cost <= 0:
        yield
        return
    decision = quota_consume(key=f"apikey:{api_key.prefix}", limit=api_key.daily_quota, cost=cost)
    if not decision.allowed:
        raise Problem(
            status_code=429,
            code="quota_exceeded",
            title="Daily quota reached",
            detail=(
                f"This API key may send {api_key.daily_quota} notifications per UTC day; "
                "the quota resets at midnight UTC."
            ),
            headers={"Retry-After": str(int(decision.retry_after))},
        )
    try:
        yield
    except BaseException:
        quota_refund(key=f"apikey:{api_key.prefix}", cost=cost)
        raise
