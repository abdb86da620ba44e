"""Dates in admin are shown in the viewer's own time zone, with the zone named on every page.

The browser tells its IANA zone once (``Intl.DateTimeFormat().resolvedOptions().timeZone``,
written by the admin's base template into the ``hub_tz`` cookie); this middleware activates it
for the request when it is a zone the server knows, and UTC otherwise. Forms then read and
write datetimes in that zone too (Django converts at the edges; the database stays in UTC).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "hub_tz"


@lru_cache(maxsize=512)
def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone called ``name`` if it is a real IANA zone, else None (never a path or junk)."""
    if not name or len(name) > 64 or name not in zoneinfo.available_timezones():
        return None
    return zoneinfo.ZoneInfo(name)


class ViewerZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/admin/"):
            # Nothing else activates a zone, and this always deactivates the one it activated:
            # every other path already runs in UTC.
            return self.get_response(request)
        zone = zone_named(request.COOKIES.get(COOKIE, ""))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
