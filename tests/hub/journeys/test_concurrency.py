"""Events for one contact arriving at once: a repeated id is stored once, and a journey that
may be entered once is entered once (the contact's row lock serialises them)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from hub.apikeys.models import ApiKey
from hub.apikeys.services import IssuedKey
from hub.contacts.models import Contact
from hub.journeys.events import EventInput, event_record
from hub.journeys.models import Event, JourneyRun
from tests.hub.journeys.conftest import definition, live_journey, send_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("shipped")]
WAIT = [{"id": "pause", "type": "wait", "duration": "1h"}]


def at_once(count: int, api_key: ApiKey | None = None, **event: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def post() -> None:
        try:
            barrier.wait()
            if api_key is None:
                outcome = send_event("signed.up", **event)
            else:
                item = EventInput(name="signed.up", contact="cust-1", **event)
                outcome = event_record(item=item, api_key=api_key)
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_the_same_event_id_at_once_is_stored_and_applied_once(contact: Contact) -> None:
    live_journey(definition(reentry={"policy": "always"}, steps=WAIT))
    outcomes = at_once(8, id="evt-1")
    assert len(outcomes) == 8
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 7
    assert Event.objects.count() == 1 and JourneyRun.objects.count() == 1


def test_the_same_event_id_at_once_with_a_key_is_stored_and_applied_once(
    contact: Contact, issued_key: IssuedKey
) -> None:
    # With a key the id's event is looked up in the lock's statement, which does not see one
    # committed while it waited: the unique index refuses the insert, and that is a replay.
    live_journey(definition(reentry={"policy": "always"}, steps=WAIT))
    outcomes = at_once(8, api_key=issued_key.api_key, id="evt-1")
    assert len(outcomes) == 8
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 7
    assert len({o.event.pk for o in outcomes}) == 1
    assert Event.objects.count() == 1 and JourneyRun.objects.count() == 1


def test_an_id_committed_while_the_event_waited_for_the_lock_is_answered_as_a_replay(
    contact: Contact, issued_key: IssuedKey
) -> None:
    # The lock's statement reads with what had committed when it began, so it cannot see this
    # event: the unique index on (key, id) refuses the insert, and that is the replay.
    live_journey(definition(reentry={"policy": "always"}, steps=WAIT))
    key = issued_key.api_key
    outcomes: list[Any] = []

    def post() -> None:
        try:
            item = EventInput(name="signed.up", contact="cust-1", id="evt-1")
            outcomes.append(event_record(item=item, api_key=key))
        finally:
            connection.close()

    with transaction.atomic():
        Contact.objects.select_for_update().get(pk=contact.pk)
        first = Event.objects.create(
            api_key=key, contact=contact, event_id="evt-1", name="signed.up", occurred_at=timezone.now()
        )
        thread = threading.Thread(target=post)
        thread.start()
        time.sleep(1)  # its lock's statement has begun, and waits
    thread.join()
    (outcome,) = outcomes
    assert outcome.replayed and outcome.event.pk == first.pk
    assert Event.objects.count() == 1 and JourneyRun.objects.count() == 0


def test_a_once_journey_is_entered_once_however_many_events_arrive_together(contact: Contact) -> None:
    live_journey(definition(reentry={"policy": "once"}, steps=WAIT))
    outcomes = at_once(8)
    assert len(outcomes) == 8 and Event.objects.count() == 8
    assert JourneyRun.objects.count() == 1
