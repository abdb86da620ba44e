"""What an event can do to journeys, read once per process while the "journeys" generation
holds (hub.generations): which live journeys each event name triggers, which names can end,
resume or convert a run that exists, and the versions runs are pinned to. A saved journey or
version (an approval making one live, a draft edited) bumps it, so the next event in every
process sees the change.

Only approved versions can have runs (a run pins the version live when it starts, and an
approved version stays approved), so one read of them, with their journeys, is all of it.
An event whose name is none of these touches no run: it is stored and answered without
reading any."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.generations import GenerationCache, generation
from hub.journeys.models import Journey, JourneyVersion
from templates_app.models import VersionStatus

JOURNEYS_GENERATION = "journeys"


@dataclass(frozen=True)
class LiveJourneys:
    """The approved versions, by what events do to them."""

    # Event name → the journeys it starts (their live version read with them), by key.
    triggered: Mapping[str, tuple[Journey, ...]]
    # Names that may end (exit events), resume (``wait_for`` events, digests) or convert (goals)
    # a run of some approved version.
    concerning_runs: frozenset[str]
    # Goal event name → the versions whose goal it is.
    goal_versions: Mapping[str, frozenset[int]]
    # Every approved version, with its journey: what a run read without them is given.
    versions: Mapping[int, JourneyVersion]


def _listened(definition: Mapping[str, Any]) -> set[str]:
    """The event names a run of this definition reacts to once started."""
    names = {exit_event["event"] for exit_event in definition.get("exit_events", [])}
    names.update(
        step["event"]
        for step in definition.get("steps", [])
        if step.get("type") in ("wait_for", "digest") and "event" in step
    )
    if "goal" in definition:
        names.add(definition["goal"]["event"])
    return names


def _read() -> LiveJourneys:
    versions = {
        v.pk: v
        for v in JourneyVersion.objects.select_related("journey")
        .filter(status=VersionStatus.APPROVED)
        .order_by("journey__key", "number")
    }
    triggered: dict[str, list[Journey]] = {}
    concerning: set[str] = set()
    goals: dict[str, set[int]] = {}
    journeys: dict[int, Journey] = {}
    for version in versions.values():
        # One instance per journey, whichever of its versions it was read with.
        journey = version.journey = journeys.setdefault(version.journey_id, version.journey)
        if journey.live_version_id == version.pk:
            journey.live_version = version
            triggered.setdefault(version.trigger_event, []).append(journey)
        concerning |= _listened(version.definition)
        if version.goal_event:
            goals.setdefault(version.goal_event, set()).add(version.pk)
    return LiveJourneys(
        triggered={name: tuple(journeys) for name, journeys in triggered.items()},
        concerning_runs=frozenset(concerning),
        goal_versions={name: frozenset(ids) for name, ids in goals.items()},
        versions=versions,
    )


_CACHED: GenerationCache[LiveJourneys] = GenerationCache(JOURNEYS_GENERATION, size=1)


def live_journeys() -> LiveJourneys:
    """From this process's cache, else one query. Shared by every request of the process:
    read it, never change it."""
    current = generation(JOURNEYS_GENERATION)
    found = _CACHED.get("all", current)
    if found is None:
        found = _read()
        _CACHED.put("all", found, current)
    return found


def versions_of(live: LiveJourneys, ids: Iterable[int]) -> dict[int, JourneyVersion]:
    """The versions with these ids, with their journeys: from ``live``, and any other (a run on
    a version that is not approved, which the services never make) read in one query."""
    wanted = set(ids)
    found = {pk: live.versions[pk] for pk in wanted if pk in live.versions}
    missing = wanted - found.keys()
    if missing:
        found.update(
            (v.pk, v) for v in JourneyVersion.objects.select_related("journey").filter(pk__in=missing)
        )
    return found
