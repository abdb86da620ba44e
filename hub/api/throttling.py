"""Per-API-key rate limit (token bucket; see hub.apikeys.ratelimit) as a DRF throttle: a
refused request is a 429 problem+json with ``Retry-After``."""

from __future__ import annotations

import math
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from hub.apikeys.models import ApiKey
from hub.apikeys.ratelimit import bucket_take


class ApiKeyRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        decision = bucket_take(
            key=f"apikey:{api_key.prefix}",
            rate_per_minute=api_key.rate_limit_per_minute,
            burst=api_key.rate_limit_burst,
        )
        self._wait = None if decision.allowed else max(1.0, math.ceil(decision.retry_after))
        return decision.allowed

    def wait(self) -> float | None:
        return self._wait
