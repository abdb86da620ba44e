"""The daily quota as a context manager for views: take before the work, give back if the
work is refused, answer 429 ``quota_exceeded`` (with Retry-After: seconds to midnight UTC)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.api.problems import Problem
from hub.apikeys.models import ApiKey
from hub.apikeys.quota import apikey_quota_refund, apikey_quota_take


def quota_exceeded(*, api_key: ApiKey, retry_after: float) -> Problem:
    return Problem(
        status_code=429,
        code="quota_exceeded",
        title="Daily quota reached",
        detail=(
            f"This API key may send {api_key.daily_quota} notifications per UTC day; "
            "the quota resets at midnight UTC."
        ),
        headers={"Retry-After": str(int(retry_after))},
    )


class QuotaTaken:
    """What a ``quota_take`` block counted; ``unused`` gives back part of it (a batch's
    refused items)."""

    def __init__(self, *, api_key: ApiKey, cost: int) -> None:
        self.api_key = api_key
        self.cost = cost

    def unused(self, count: int) -> None:
        count = min(count, self.cost)
        apikey_quota_refund(api_key=self.api_key, cost=count)
        self.cost -= count


@contextmanager
def quota_take(*, api_key: ApiKey, cost: int) -> Iterator[QuotaTaken]:
    decision = apikey_quota_take(api_key=api_key, cost=cost)
    if not decision.allowed:
        raise quota_exceeded(api_key=api_key, retry_after=decision.retry_after)
    taken = QuotaTaken(api_key=api_key, cost=cost)
    try:
        yield taken
    except BaseException:
        apikey_quota_refund(api_key=api_key, cost=taken.cost)
        raise
