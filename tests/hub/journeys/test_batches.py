"""The batched paths (issue 17.10): beat wakes many runs per transaction, their sends in one
intake call; a batch of events is recorded in one transaction. Each answers as the one-by-one
path would, and one bad run or event never holds back the others."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.contacts.models import Contact
from hub.journeys.events import EventInput, EventOutcome, EventRejected, events_record
from hub.journeys.models import Event, JourneyRun, JourneyRunEntry, RunStatus
from hub.journeys.wake import journeys_wake_due
from hub.messaging.models import Notification
from tests.factories import make_contacts
from tests.hub.journeys.conftest import definition, live_journey, send_event

pytestmark = pytest.mark.django_db
DATA = {"first_name": "Ada", "order_number": "A-1"}
STEPS = [
    {"id": "nap", "type": "wait", "duration": "1h"},
    {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"]},
    {"id": "rest", "type": "wait", "duration": "1d"},
]


def due_runs(count: int) -> list[Contact]:
    live_journey(definition(steps=STEPS))
    contacts = make_contacts(count, prefix="batch")
    for c in contacts:
        send_event("signed.up", contact=c.external_id, data=DATA)
    JourneyRun.objects.update(wake_at="2000-01-01T00:00:00Z")
    return contacts


def wake_queries() -> int:
    with CaptureQueriesContext(connection) as captured:
        journeys_wake_due()
    return len(captured)


def test_waking_many_runs_costs_the_queries_of_one_batch(shipped: Any) -> None:
    due_runs(3)
    few = wake_queries()
    assert JourneyRun.objects.filter(step="rest").count() == 3
    JourneyRun.objects.all().delete()
    Notification.objects.all().delete()
    Contact.objects.filter(external_id__startswith="batch").delete()
    due_runs(30)
    many = wake_queries()
    assert JourneyRun.objects.filter(status=RunStatus.WAITING, step="rest").count() == 30
    assert Notification.objects.count() == 30
    assert many <= few  # not a round trip per run (the first wake also fills some caches)
    # Each woken run's timeline: resumed, left the wait, the send, and the next wait.
    run = JourneyRun.objects.first()
    assert run is not None
    kinds = list(JourneyRunEntry.objects.filter(run=run).order_by("id").values_list("kind", flat=True))
    assert kinds[-7:] == [
        "resumed",
        "step_left",
        "step_entered",
        "message",
        "step_left",
        "step_entered",
        "wait",
    ]


def test_a_run_that_fails_in_a_batch_rolls_back_alone(shipped: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    contacts = due_runs(3)
    bad = JourneyRun.objects.get(contact=contacts[1])
    from hub.journeys import engine

    real = engine.run_steps

    def flaky(run: JourneyRun, **kwargs: Any) -> Any:
        if run.pk == bad.pk:
            raise RuntimeError("a bad run")
        return real(run, **kwargs)

    monkeypatch.setattr(engine, "run_steps", flaky)
    journeys_wake_due()
    bad.refresh_from_db()
    assert (bad.status, bad.step) == (RunStatus.WAITING, "nap")  # still due, tried next tick
    assert JourneyRun.objects.filter(step="rest").count() == 2
    assert Notification.objects.count() == 2


def test_a_batch_of_events_answers_each_as_one_by_one_would(contact: Contact, shipped: Any) -> None:
    live_journey(definition(reentry={"policy": "always"}, steps=[STEPS[0]]))
    items = [
        EventInput(name="signed.up", contact="cust-1", data=DATA, id="e1"),
        EventInput(name="signed.up", contact="nobody", id="e2"),
        EventInput(name="signed.up", contact="cust-1", data=DATA, id="e1"),  # a repeat in the batch
        EventInput(name="other", contact="cust-1", id="e1"),  # the id of another event
        EventInput(name="signed.up", contact="cust-1", data=DATA),
    ]
    results = events_record(items=items, api_key=None)
    assert [type(r).__name__ for r in results] == [
        "EventOutcome",
        "EventRejected",
        "EventOutcome",
        "EventRejected",
        "EventOutcome",
    ]
    first, unknown, repeat, reused, last = results
    assert (
        isinstance(first, EventOutcome)
        and isinstance(repeat, EventOutcome)
        and isinstance(last, EventOutcome)
    )
    assert isinstance(unknown, EventRejected) and unknown.code == "unknown_contact"
    assert isinstance(reused, EventRejected) and reused.code == "event_id_reused"
    assert repeat.replayed and repeat.event.pk == first.event.pk
    assert [line["action"] for line in first.event.result] == ["started"]
    assert Event.objects.count() == 2
    assert JourneyRun.objects.filter(status=RunStatus.WAITING).count() == 2
    # The stored result answers a later replay.
    (again,) = events_record(items=[items[0]], api_key=None)
    assert isinstance(again, EventOutcome) and again.replayed and again.event.result == first.event.result


def test_events_for_one_contact_in_a_batch_apply_in_order(contact: Contact, shipped: Any) -> None:
    live_journey(
        definition(
            reentry={"policy": "always"},
            exit_events=[{"event": "order.completed"}],
            steps=[STEPS[0]],
        )
    )
    results = events_record(
        items=[
            EventInput(name="signed.up", contact="cust-1", data=DATA),
            EventInput(name="order.completed", contact="cust-1"),
        ],
        api_key=None,
    )
    started, ended = results
    assert isinstance(started, EventOutcome) and isinstance(ended, EventOutcome)
    assert [line["action"] for line in ended.event.result] == ["exited"]
    assert JourneyRun.objects.get().status == RunStatus.EXITED


def test_a_run_started_earlier_in_a_batch_keeps_its_entry_event(contact: Contact, shipped: Any) -> None:
    # The events are stored once the whole batch is applied: the second round's read of the
    # run the first round started must still see the event that started it (the branch reads
    # its data), and the run must point at it once stored.
    live_journey(
        definition(
            reentry={"policy": "always"},
            steps=[
                {"id": "watch", "type": "wait_for", "event": "page.viewed", "timeout": "1h"},
                {
                    "id": "pick",
                    "type": "branch",
                    "branches": [{"condition": 'event.data.tier == "gold"', "next": "gold"}],
                    "default": "plain",
                },
                {"id": "gold", "type": "wait", "duration": "1d"},
                {"id": "plain", "type": "wait", "duration": "2d"},
            ],
        )
    )
    started, resumed = events_record(
        items=[
            EventInput(name="signed.up", contact="cust-1", data={"tier": "gold"}),
            EventInput(name="page.viewed", contact="cust-1"),
        ],
        api_key=None,
    )
    assert isinstance(started, EventOutcome) and isinstance(resumed, EventOutcome)
    assert [line["action"] for line in resumed.event.result] == ["resumed"]
    run = JourneyRun.objects.get()
    assert (run.status, run.step) == (RunStatus.WAITING, "gold")
    assert run.entry_event_id == started.event.pk
    assert Event.objects.get(pk=started.event.pk).result == started.event.result
