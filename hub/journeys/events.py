"""Events in (SPEC §4 ``POST /api/v1/events``): store the event once, then end, convert,
resume and start the runs it concerns, all in one transaction.

Each event is handled with its contact's row locked, so events, wake-ups and exits for one
contact apply one at a time and a run is never started twice for one entry.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from audit.rows import rows_read, rows_read_with
from audit.services import SEQ_NEXT_SQL, Actor
from hub.apikeys.models import ApiKey
from hub.contacts.models import Contact
from hub.generations import generations_read_together
from hub.journeys.bulk import new_row, rows_create
from hub.journeys.context import Wake, condition_holds
from hub.journeys.definition import duration
from hub.journeys.engine import ENDED_FIELDS, run_end, runs_advance, runs_save
from hub.journeys.live_journeys import LiveJourneys, live_journeys, versions_of
from hub.journeys.models import Event, Journey, JourneyRun, RunEntryKind, RunStatus
from hub.journeys.steps import run_awaits_event
from hub.journeys.timeline import Timeline
from hub.refusals import Refused
from hub.tracking.conversions import conversions_record

LIVE = (RunStatus.ACTIVE, RunStatus.WAITING)


class EventRejected(Refused):
    """The event cannot be accepted (``unknown_contact``, ``event_id_reused``); nothing was
    written for it."""


@dataclass(frozen=True)
class EventInput:
    """A validated event (the API's serializer checked its shape)."""

    name: str
    contact: str  # external_id
    data: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    id: str = ""


@dataclass(frozen=True)
class EventOutcome:
    event: Event
    replayed: bool


def _run_line(run: JourneyRun, action: str) -> dict[str, Any]:
    return {
        "run": str(run.id),
        "journey": run.journey.key,
        "version": run.version.number,
        "action": action,
        "status": run.status,
        "step": run.step,
    }


def _exit_matches(run: JourneyRun, event: Event, contact: Contact) -> bool:
    return any(
        exit_event["event"] == event.name
        and (
            "condition" not in exit_event
            or condition_holds(exit_event["condition"], contact=contact, event=event, run=run)
        )
        for exit_event in run.version.definition.get("exit_events", [])
    )


# A run and what an event did to it; its line is written once the runs are advanced.
Touched = tuple[JourneyRun, str]


@dataclass
class _Round:
    """Events for distinct contacts, applied together: what the runs, goals and entries of
    those contacts stand at, read once for the round."""

    events: list[Event]
    contacts: Mapping[int, Contact]
    live: dict[int, list[JourneyRun]] = field(default_factory=dict)
    goals: dict[int, list[JourneyRun]] = field(default_factory=dict)
    triggered: Mapping[str, Sequence[Journey]] = field(default_factory=dict)
    entered: dict[tuple[int, int], datetime] = field(default_factory=dict)
    # The runs an event ended or converted (saved with the advanced ones, in one statement).
    changed: dict[Any, JourneyRun] = field(default_factory=dict)


def _reentry(journey: Journey) -> Mapping[str, Any]:
    version = journey.live_version
    assert version is not None  # noqa: S101 - only live journeys are triggered
    reentry: Mapping[str, Any] = version.definition.get("reentry", {"policy": "once"})
    return reentry


def _round_read(
    events: list[Event],
    contacts: Mapping[int, Contact],
    journeys: LiveJourneys,
    started_here: Mapping[Any, JourneyRun],
) -> _Round:
    state = _Round(events, contacts, triggered=journeys.triggered)
    # Only the contacts whose event can end, resume or convert a run have their runs read.
    concerned = [e for e in events if e.name in journeys.concerning_runs]
    if concerned:
        names = {e.name for e in concerned}
        goal_versions = {pk for name in names for pk in journeys.goal_versions.get(name, ())}
        # One read for both: the live runs, and the runs (ended or not) whose goal may be one
        # of these events and that have not converted.
        wanted = Q(status__in=LIVE)
        if goal_versions:
            wanted |= Q(converted_at__isnull=True, version_id__in=goal_versions)
        runs = list(
            JourneyRun.objects.select_for_update(of=("self",))
            .select_related("entry_event")
            .filter(wanted, contact_id__in=[e.contact_id for e in concerned])
            .order_by("created_at")
        )
        versions = versions_of(journeys, {run.version_id for run in runs})
        for index, run in enumerate(runs):
            if run.id in started_here:
                # Started by an earlier round: its event is not stored yet (not joined).
                run = runs[index] = started_here[run.id]
            run.version = versions[run.version_id]
            run.journey = run.version.journey
            if run.status in LIVE:
                state.live.setdefault(run.contact_id, []).append(run)
            if run.converted_at is None and run.version.goal_event in names:
                state.goals.setdefault(run.contact_id, []).append(run)
    # When each contact last entered the journeys it may enter again only once (per period).
    limited = {
        j.pk for e in events for j in journeys.triggered.get(e.name, ()) if _reentry(j)["policy"] != "always"
    }
    if limited:
        entering = [e.contact_id for e in events if e.name in journeys.triggered]
        last = (
            JourneyRun.objects.filter(journey_id__in=limited, contact_id__in=entering)
            .values_list("journey_id", "contact_id")
            .annotate(last=Max("created_at"))
        )
        state.entered = {(j, c): at for j, c, at in last}
    return state


def _convert(run: JourneyRun, event: Event, timeline: Timeline) -> bool:
    goal = run.version.definition["goal"]
    if run.converted_at is not None or goal["event"] != event.name:
        return False
    if "within" in goal and event.occurred_at > run.created_at + duration(goal["within"]):
        return False
    run.converted_at = timeline.now
    timeline.add(run, RunEntryKind.CONVERTED, run.step, event=event.name, event_id=str(event.id))
    return True


def _may_enter(state: _Round, journey: Journey, contact: Contact, event: Event) -> str | None:
    """The run's entry key if the contact may enter now (re-entry policy), else None."""
    reentry = _reentry(journey)
    policy = reentry["policy"]
    last = state.entered.get((journey.pk, contact.pk))
    if policy == "once":
        return None if last is not None else "once"
    if policy == "once_per" and last is not None and last > event.received_at - duration(reentry["period"]):
        return None
    return str(event.id)


def _apply(
    state: _Round, event: Event, timeline: Timeline, advance: list[tuple[JourneyRun, Contact, Wake | None]]
) -> tuple[list[Touched], list[JourneyRun]]:
    """What one event does to its contact's runs: end, resume (queued in ``advance``),
    convert, start (queued, and returned to insert)."""
    contact = state.contacts[event.contact_id]
    touched: list[Touched] = []
    absorbed: set[int] = set()
    for run in state.live.get(contact.pk, []):
        if run.status not in LIVE:
            continue
        if _exit_matches(run, event, contact):
            run_end(
                run, status=RunStatus.EXITED, reason="exit event", timeline=timeline, exit_event=event.name
            )
            state.changed[run.id] = run
            touched.append((run, "exited"))
        elif run_awaits_event(run, event, contact):
            if run.waiting_for.get("kind") == "digest":
                absorbed.add(run.journey_id)
            advance.append((run, contact, Wake("event", event=event)))
            touched.append((run, "resumed"))
    for run in state.goals.get(contact.pk, []):
        if _convert(run, event, timeline):
            state.changed[run.id] = run
            touched.append((run, "converted"))
    started: list[JourneyRun] = []
    for journey in state.triggered.get(event.name, []):
        version = journey.live_version
        assert version is not None  # noqa: S101 - read with it
        trigger = version.definition["trigger"]
        if journey.pk in absorbed or (
            "condition" in trigger
            and not condition_holds(trigger["condition"], contact=contact, event=event, run=None)
        ):
            continue
        entry = _may_enter(state, journey, contact, event)
        if entry is None:
            continue
        run = new_row(
            JourneyRun,
            {
                "journey": journey,
                "version": version,
                "contact": contact,
                "entry_event": event,
                "api_key": event.api_key,
            },
            entry=entry,
            created_at=timeline.now,
            updated_at=timeline.now,
        )
        state.entered[(journey.pk, contact.pk)] = timeline.now
        timeline.add(run, RunEntryKind.STARTED, event=event.name, event_id=str(event.id))
        advance.append((run, contact, None))
        touched.append((run, "started"))
        started.append(run)
    return touched, started


def _rounds(events: Sequence[Event]) -> list[list[Event]]:
    """The events in rounds holding each contact at most once: a contact's k-th event is in
    the k-th round, so each contact's events apply in their order."""
    rounds: list[list[Event]] = []
    seen: dict[int, int] = {}
    for event in events:
        depth = seen.get(event.contact_id, 0)
        seen[event.contact_id] = depth + 1
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append(event)
    return rounds


def journeys_on_events(
    events: Sequence[Event],
    contacts: Mapping[int, Contact],
    timeline: Timeline,
    journeys: LiveJourneys | None = None,
) -> None:
    """Store ``events`` (new instances) and apply them: for each, in order per contact, end the
    runs that exit on it, resume those waiting for it, convert those whose goal it is, start
    the journeys it triggers. The events, with their ``result`` once all are applied, and the
    last round's new runs are written by ``timeline``'s flush, with its entries (one
    statement for a few; a later round's runs read are the instances an earlier round
    started, with their event); the events' ids' uniqueness is checked then (an
    IntegrityError), the rows referring to them at commit. The caller holds the contacts'
    locks and flushes ``timeline``.

    Set-based: per round of distinct contacts a fixed number of reads, the runs to advance
    advanced together (their sends in one intake call), the new runs inserted in one
    statement and the resumed, ended and converted ones saved in one. What the journeys are
    (which ones each name starts, which names concern runs) is read once per process (the
    caller may give what it read)."""
    journeys = journeys or live_journeys()
    # The runs started so far: read again by a later round, they are these instances.
    started_here: dict[Any, JourneyRun] = {}
    rounds = _rounds(events)
    last = rounds[-1] if rounds else None
    for events_of_round in rounds:
        state = _round_read(events_of_round, contacts, journeys, started_here)
        advance: list[tuple[JourneyRun, Contact, Wake | None]] = []
        touched: dict[Any, list[Touched]] = {}
        started: list[JourneyRun] = []
        for event in events_of_round:
            touched[event.id], new = _apply(state, event, timeline, advance)
            started += new
        runs_advance(advance, timeline=timeline)
        if events_of_round is last:
            # Read by no later round: written with the timeline (one statement if few).
            timeline.create(JourneyRun, started)
        else:
            rows_create(JourneyRun, started)
        started_here.update((run.id, run) for run in started)
        fresh = {run.id for run in started}
        saved = {run.id: run for run, _, _ in advance if run.id not in fresh}
        saved.update(state.changed)
        runs_save(list(saved.values()), ENDED_FIELDS)
        for event in events_of_round:
            # The answer names only the runs of the event's own key: a run is visible to the
            # key that started it (another key's event may still end or resume it).
            event.result = [
                _run_line(run, action)
                for run, action in touched[event.id]
                if run.api_key_id == event.api_key_id
            ]
    timeline.create(Event, events)


def _event_of(item: EventInput, contact: Contact, api_key: ApiKey | None, now: datetime) -> Event:
    return new_row(
        Event,
        {"api_key": api_key, "contact": contact},
        event_id=item.id,
        name=item.name,
        data=dict(item.data),
        occurred_at=item.occurred_at or now,
        received_at=now,
    )


def _replay(item: EventInput, api_key: ApiKey | None) -> EventOutcome | None:
    found = _seen({item.id}, api_key).get(item.id)
    return None if found is None else _replay_of(found, item)


def _events_read(pks: Collection[Any]) -> dict[str, Event]:
    """The events of these primary keys, by their caller's id, with their contacts."""
    return {e.event_id: e for e in Event.objects.select_related("contact").filter(pk__in=pks)}


def _seen(ids: Collection[str], api_key: ApiKey | None) -> dict[str, Event]:
    """The events already stored under these ``ids`` for ``api_key``, by id, with their
    contacts. Most ids are new: a bare look-up of the keys first, as plain SQL with one array
    parameter (building it with the ORM was a fifth of a single event's CPU), and the events
    read only if there are any. ``event_id <> ''`` is spelled out: the unique index on (key,
    id) is partial, and a prepared statement's generic plan must know it applies (without it,
    the generic plan reads every event of the key)."""
    if not ids:
        return {}
    if connection.vendor != "postgresql":
        found = Event.objects.select_related("contact").filter(api_key=api_key, event_id__in=ids)
        return {e.event_id: e for e in found}
    table = connection.ops.quote_name(Event._meta.db_table)
    key = "api_key_id IS NULL" if api_key is None else "api_key_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE {key} AND event_id = ANY(%s) AND event_id <> ''",  # noqa: S608 - quoted name
            [list(ids)] if api_key is None else [api_key.pk, list(ids)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
    return _events_read(pks) if pks else {}


# Contacts locked in one order (by id, so two requests for the same contacts queue, never
# deadlock).
CONTACTS_LOCKED = "ORDER BY id FOR UPDATE"


def _contacts_locked(external_ids: Collection[str]) -> list[Contact]:
    """The contacts of these ``external_ids``, their rows locked in one order (by id, so two
    requests for the same contacts queue, never deadlock). On PostgreSQL one plain statement
    (one array parameter, however many ids), read without the ORM's query building (it was a
    fifth of a single event's CPU, and a 1,000-id ``IN`` list is parsed again by the driver)."""
    if connection.vendor != "postgresql":
        return list(Contact.objects.select_for_update().filter(external_id__in=external_ids).order_by("pk"))
    return rows_read(Contact, "external_id = ANY(%s)", [list(external_ids)], tail=CONTACTS_LOCKED)


@dataclass(frozen=True)
class _Locked:
    """A single event's contact, its row locked, and what was read in the same statement."""

    contact: Contact | None
    # Whether the event stored under the item's id for its key was looked up, and its pk if any.
    seen_read: bool = False
    seen: Any = None
    # Audit record numbers drawn for the timeline (audit.services.audit_rows).
    seqs: tuple[int, ...] = ()


def _contact_locked(item: EventInput, api_key: ApiKey | None, *, audited: bool) -> _Locked:
    """``_contacts_locked`` for one event's contact, in one statement on PostgreSQL with what
    the event needs next: the event already stored under its id for its key, when it has both
    (see ``_event_record``), and an audit record number when it is ``audited`` (it may touch
    a run, whose timeline entries are audited; one drawn for nothing is a gap, and numbers
    are not gapless)."""
    if connection.vendor != "postgresql":
        return _Locked(next(iter(_contacts_locked([item.contact])), None))
    extra: list[str] = []
    extra_params: list[Any] = []
    seen_read = bool(item.id) and api_key is not None
    if seen_read:
        assert api_key is not None  # noqa: S101 - narrowed for mypy
        extra.append(_seen_sql())
        extra_params += [api_key.pk, item.id]
    if audited:
        extra.append(SEQ_NEXT_SQL)
    found = rows_read_with(
        Contact,
        "external_id = ANY(%s)",
        [[item.contact]],
        extra=extra,
        extra_params=extra_params,
        tail=CONTACTS_LOCKED,
    )
    if not found:
        return _Locked(None)
    contact, values = found[0]
    return _Locked(
        contact,
        seen_read=seen_read,
        seen=values[0] if seen_read else None,
        seqs=(values[-1],) if audited else (),
    )


@lru_cache(maxsize=1)
def _seen_sql() -> str:
    """The stored event of a key's id, as a value beside the contact's row (``event_id <> ''``
    spelled out, as in ``_seen``)."""
    table = connection.ops.quote_name(Event._meta.db_table)
    return f"(SELECT id FROM {table} WHERE api_key_id = %s AND event_id = %s AND event_id <> '')"  # noqa: S608 - quoted name


def event_record(*, item: EventInput, api_key: ApiKey | None) -> EventOutcome:
    """Store one event and apply it to journeys; a repeated ``id`` (per API key) is answered
    with the first one's outcome and changes nothing. Raises EventRejected (writing nothing)."""
    try:
        with generations_read_together():
            return _event_record(item, api_key)
    except IntegrityError:
        # The same id for another contact, committed meanwhile (each holds its own contact):
        # what this one wrote rolled back, and it is answered as that one's replay.
        replay = _replay(item, api_key) if item.id else None
        if replay is None:
            raise
        return replay


def _event_record(item: EventInput, api_key: ApiKey | None) -> EventOutcome:
    now = timezone.now()
    actor = Actor.api_key(api_key.pk) if api_key else Actor.system()
    journeys = live_journeys()
    audited = item.name in journeys.triggered or item.name in journeys.concerning_runs
    with transaction.atomic():
        locked = _contact_locked(item, api_key, audited=audited)
        contact = locked.contact
        if contact is None:
            raise _unknown_contact(item)
        if locked.seen_read:
            # Looked up in the lock's statement, so with what had committed when it began: an
            # event of this id committed while it waited for the lock is not seen, but the
            # unique index on (key, id) then refuses this one's insert, and event_record
            # answers it as that one's replay.
            if locked.seen is not None:
                return _replay_of(_events_read([locked.seen])[item.id], item)
        elif item.id and (replay := _replay(item, api_key)):
            # Without a key the index holds nothing (NULLs are distinct): looked up once the
            # lock is held, in a statement of its own, which sees one committed meanwhile.
            return replay
        event = _event_of(item, contact, api_key, now)
        timeline = Timeline(actor=actor, now=now)
        # Stored with its result, in one statement, once applied.
        journeys_on_events([event], {contact.pk: contact}, timeline, journeys)
        # A template's or journey's goal: a conversion for the latest delivered message.
        conversions_record(events=[event], contacts={contact.pk: contact})
        timeline.flush(seqs=locked.seqs)
    return EventOutcome(event, replayed=False)


def _unknown_contact(item: EventInput) -> EventRejected:
    return EventRejected(
        "unknown_contact",
        f"There is no contact with external_id '{item.contact}'.",
        field="contact.external_id",
    )


def _replay_of(existing: Event, item: EventInput) -> EventOutcome:
    if existing.name != item.name or existing.contact.external_id != item.contact:
        raise EventRejected(
            "event_id_reused",
            f"Event id '{item.id}' was already used for another event ({existing.name}).",
            field="id",
        )
    return EventOutcome(existing, replayed=True)


Recorded = EventOutcome | EventRejected


def events_record(*, items: Sequence[EventInput], api_key: ApiKey | None) -> list[Recorded]:
    """Store many events and apply them to journeys, in order, in one transaction: their
    contacts locked in one query, replays found in one, the events inserted in one a round
    (with their results), the runs they touch and their timelines written together. One result per item: its outcome, or the
    EventRejected that refused it alone (as ``event_record`` would have).

    If the batch cannot be written together (an id committed meanwhile by another request),
    its events are recorded one by one."""
    try:
        with generations_read_together():
            return _events_record_together(items, api_key)
    except IntegrityError:
        return [_record_or_refusal(item, api_key) for item in items]


def _record_or_refusal(item: EventInput, api_key: ApiKey | None) -> Recorded:
    try:
        return event_record(item=item, api_key=api_key)
    except EventRejected as exc:
        return exc


def _events_record_together(items: Sequence[EventInput], api_key: ApiKey | None) -> list[Recorded]:
    now = timezone.now()
    actor = Actor.api_key(api_key.pk) if api_key else Actor.system()
    results: list[Recorded | None] = [None] * len(items)
    with transaction.atomic():
        contacts = {c.external_id: c for c in _contacts_locked({i.contact for i in items})}
        seen = _seen({i.id for i in items if i.id}, api_key)
        fresh: list[tuple[int, Event]] = []
        for index, item in enumerate(items):
            contact = contacts.get(item.contact)
            if contact is None:
                results[index] = _unknown_contact(item)
            elif item.id and item.id in seen:
                try:
                    results[index] = _replay_of(seen[item.id], item)
                except EventRejected as exc:
                    results[index] = exc
            else:
                event = _event_of(item, contact, api_key, now)
                if item.id:
                    seen[item.id] = event
                fresh.append((index, event))
        timeline = Timeline(actor=actor, now=now)
        by_pk = {c.pk: c for c in contacts.values()}
        # Stored with their results, one statement a round, once applied (no UPDATE after).
        journeys_on_events([event for _, event in fresh], by_pk, timeline)
        for index, event in fresh:
            results[index] = EventOutcome(event, replayed=False)
        # A template's or journey's goal: a conversion for the latest delivered message.
        conversions_record(events=[event for _, event in fresh], contacts=by_pk)
        timeline.flush()
    return [r for r in results if r is not None]


def journey_run_cancel(*, run: JourneyRun, actor: Actor) -> JourneyRun:
    """Cancel a run that has not ended. Raises RunNotCancellable if it has."""
    with transaction.atomic():
        Contact.objects.select_for_update().filter(pk=run.contact_id).first()
        locked = (
            JourneyRun.objects.select_for_update(of=("self",))
            .select_related("journey", "version")
            .get(pk=run.pk)
        )
        if locked.status not in LIVE:
            raise RunNotCancellable(f"This run has already ended ({locked.status}).")
        timeline = Timeline(actor=actor, now=timezone.now())
        run_end(locked, status=RunStatus.CANCELLED, reason="cancelled", timeline=timeline)
        locked.save()
        timeline.flush()
    return locked


class RunNotCancellable(Exception):
    """The run has already ended."""
