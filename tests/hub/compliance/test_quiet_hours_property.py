"""Property: over random recipients, zones (with DST), rule windows and send times, no
marketing SMS is ever allowed outside its recipient's window, and a deferral always lands on a
time inside the window in every zone of the recipient."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hub.compliance.engine import Facts, Outcome, decide
from hub.compliance.rules import rule_spec_parse

# Zones with DST in both hemispheres, half-hour and 45-minute offsets, and a zone that skipped a day.
ZONES = [
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
    "Pacific/Apia",
    "Europe/Berlin",
    "America/Santiago",
    "UTC",
]
# Instants clustered around European and American DST changes, plus anywhere in a few years.
DST_EDGES = [
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 4, 5, 16, 0, tzinfo=UTC),
]
moments = st.one_of(
    st.builds(
        lambda edge, minutes: edge + timedelta(minutes=minutes),
        st.sampled_from(DST_EDGES),
        st.integers(-1440, 1440),
    ),
    st.datetimes(
        min_value=datetime(2024, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    ).map(lambda d: d.replace(tzinfo=UTC)),
)
windows = st.tuples(
    st.integers(0, 23), st.sampled_from([0, 30]), st.integers(0, 23), st.sampled_from([0, 15])
).filter(lambda w: (w[0], w[1]) != (w[2], w[3]))


def in_window(minute: int, window: tuple[int, int]) -> bool:
    """The test's own oracle (not the engine's): inside [start, end), wrapping midnight."""
    start, end = window
    return start <= minute < end if start < end else (minute >= start or minute < end)


def local_minute(moment: datetime, zone: str) -> int:
    local = moment.astimezone(ZoneInfo(zone))
    return local.hour * 60 + local.minute


def never_open_together(now, zones, window) -> bool:
    """No instant in the next two days (five-minute steps) is inside the window in every zone."""
    steps = (now + timedelta(minutes=5 * i) for i in range(2 * 288))
    return not any(all(in_window(local_minute(t, z), window) for z in zones) for t in steps)


@settings(max_examples=400, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
    now=moments,
    window=windows,
    consent=st.sampled_from([True, None, False]),
)
def test_no_marketing_sms_outside_the_recipients_window(zones, now, window, consent):
    start, end = window[0] * 60 + window[1], window[2] * 60 + window[3]
    rules = [
        rule_spec_parse(key="opt_out", version=1, kind="opt_out", effect="block"),
        rule_spec_parse(
            key="quiet",
            version=1,
            kind="quiet_hours",
            effect="defer",
            category="marketing",
            channel="sms",
            params={"start": f"{window[0]:02d}:{window[1]:02d}", "end": f"{window[2]:02d}:{window[3]:02d}"},
        ),
    ]
    facts = Facts(channel="sms", category="marketing", zones=tuple(zones), consent=consent)
    decision = decide(facts, rules, now)
    inside_now = all(in_window(local_minute(now, z), (start, end)) for z in zones)
    if decision.outcome == Outcome.ALLOW:
        if not inside_now:  # only when the zones' windows never overlap, and then in the primary zone
            assert len(zones) > 1 and in_window(local_minute(now, zones[0]), (start, end))
            assert never_open_together(now, zones, (start, end)), decision.sentence
    elif decision.outcome == Outcome.DEFER:
        assert not inside_now
        due = decision.not_before
        assert due is not None and due > now
        due_inside = all(in_window(local_minute(due, z), (start, end)) for z in zones)
        if len(zones) == 1:
            assert due_inside, decision.sentence
        elif not due_inside:
            assert in_window(local_minute(due, zones[0]), (start, end))  # the primary zone at least
            assert never_open_together(now, zones, (start, end)), decision.sentence
        assert due - now <= timedelta(days=4)
    else:
        assert consent is False and decision.reason == "opted_out"


@settings(max_examples=200, deadline=None)
@given(zone=st.sampled_from(ZONES), now=moments)
def test_single_zone_deferral_is_the_first_minute_the_window_opens(zone, now):
    """With one zone the due time is inside the window, and one minute earlier is not."""
    rules = [
        rule_spec_parse(
            key="quiet",
            version=1,
            kind="quiet_hours",
            effect="defer",
            params={"start": "08:00", "end": "21:00"},
        )
    ]
    decision = decide(Facts(channel="sms", category="marketing", zones=(zone,)), rules, now)
    if decision.outcome == Outcome.DEFER:
        due = decision.not_before
        assert due is not None
        assert in_window(local_minute(due, zone), (480, 1260))
        assert not in_window(local_minute(due - timedelta(minutes=1), zone), (480, 1260))


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    window=windows,
)
def test_the_window_opens_at_its_start_minute_and_closes_at_its_end_minute(zone, day, window):
    """At local ``end`` a marketing SMS is no longer allowed; at local ``start`` it is (on days
    where DST does not skip or repeat those wall times)."""
    start_t, end_t = time(window[0], window[1]), time(window[2], window[3])
    rules = [
        rule_spec_parse(
            key="quiet",
            version=1,
            kind="quiet_hours",
            effect="defer",
            params={"start": start_t.isoformat("minutes"), "end": end_t.isoformat("minutes")},
        )
    ]
    for wall, allowed in ((end_t, False), (start_t, True)):
        local = datetime.combine(day, wall, tzinfo=ZoneInfo(zone))
        instant = local.astimezone(UTC)
        assume(instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == local.replace(tzinfo=None))
        outcome = decide(Facts(channel="sms", category="marketing", zones=(zone,)), rules, instant).outcome
        assert (outcome == Outcome.ALLOW) is allowed, (wall, instant)
