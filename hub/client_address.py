"""The client's own address, for throttles, tracking and consent evidence.

``REMOTE_ADDR``, or behind ``HUB_NUM_PROXIES`` reverse proxies the address the outermost of
them saw, read from ``X-Forwarded-For`` counting from the right (each proxy appends the address
it was called from, so only those entries are trustworthy; anything left of them is the
client's to write). DRF's own rule (``NUM_PROXIES``), set from the same setting, so the API's
throttles and the public pages name the same address. Never the header's whole text: a client
that could choose its address could reset its bad-key budget with every request.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


class _Forwarded:
    """What DRF's rule reads of a request (``META``, and ``X-Forwarded-For`` from ``headers``),
    without ``request.headers``, which would first copy every header (every API request asks)."""

    def __init__(self, meta: Any) -> None:
        self.META = meta
        forwarded = meta.get("HTTP_X_FORWARDED_FOR")
        self.headers = {} if forwarded is None else {"x-forwarded-for": forwarded}


def client_address(request: HttpRequest) -> str:
    return BaseThrottle().get_ident(_Forwarded(request.META)) or ""  # type: ignore[arg-type]
