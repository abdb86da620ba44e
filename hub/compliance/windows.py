"""Local-time windows across time zones, DST-correct. Pure functions of aware datetimes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def minute_of_day(moment: datetime, zone_name: str) -> int:
    local = moment.astimezone(zone(zone_name))
    return local.hour * 60 + local.minute


def in_window(minute: int, window: tuple[int, int]) -> bool:
    """Is this local minute inside [start, end)? A window may wrap midnight (22:00-06:00)."""
    start, end = window
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def next_window_start(moment: datetime, zones: Sequence[str], window: tuple[int, int]) -> datetime:
    """The earliest instant at or after ``moment`` that is inside the window in every zone.

    Candidates are ``moment`` itself and the window's start on the next few local days in each
    zone; each is checked in every zone, so a start that a DST gap skips is simply not chosen
    and the next valid one is.
    """
    if all(in_window(minute_of_day(moment, z), window) for z in zones):
        return moment
    start_h, start_m = divmod(window[0], 60)
    candidates: list[datetime] = []
    for name in zones:
        local_today = moment.astimezone(zone(name)).date()
        for offset in range(0, 4):
            day = local_today + timedelta(days=offset)
            local = datetime(day.year, day.month, day.day, start_h, start_m, tzinfo=zone(name))
            # Normalise through UTC: a wall time inside a DST gap maps to a real instant.
            candidate = local.astimezone(UTC)
            if candidate > moment:
                candidates.append(candidate)
    for candidate in sorted(candidates):
        if all(in_window(minute_of_day(candidate, z), window) for z in zones):
            return candidate
    if len(zones) > 1:
        # The window is never open in all these zones at once (e.g. a short window across a
        # country spanning many hours): honour it in the first (primary) zone instead.
        return next_window_start(moment, zones[:1], window)
    return min(candidates) if candidates else moment + timedelta(days=1)


def fmt_minutes(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
