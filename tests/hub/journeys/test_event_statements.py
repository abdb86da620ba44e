"""Statements per event (issue 17.10): a single event is a fixed handful of statements, and a
batch a fixed number whatever its size. These fail if a change adds a round trip per event.

Counted after a first event has filled the per-process caches (the live journeys, the goal
names), as in a running hub; SAVEPOINT statements are the test's transaction, not the path's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub import generations
from hub.apikeys.services import IssuedKey
from hub.journeys.events import EventInput, EventOutcome, EventRejected, event_record, events_record
from hub.journeys.models import Event, JourneyRun, RunStatus
from tests.factories import make_contacts
from tests.hub.journeys.conftest import live_journey, send_event
from tests.hub.journeys.test_events import CART as EXITING_CART

# The live journeys and goal names come from per-process caches kept by Redis generation counters.
pytestmark = [pytest.mark.django_db, pytest.mark.redis, pytest.mark.usefixtures("shipped")]
# The abandoned cart (exit and goal ``order.completed``), re-entered at will, its first step
# waiting for ``page.viewed``.
CART = {
    **EXITING_CART,
    "reentry": {"policy": "always"},
    "steps": [
        {"id": "watch", "type": "wait_for", "event": "page.viewed", "timeout": "1h"},
        {"id": "nap", "type": "wait", "duration": "1d"},
    ],
}


def statements(work: Callable[[], Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        work()
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.fixture
def cart(contact: Any) -> None:
    live_journey(CART)
    send_event("cart.abandoned", id="warm-up")  # fills the caches
    JourneyRun.objects.update(status=RunStatus.CANCELLED)


def test_an_event_that_starts_a_run_is_three_statements(cart: None) -> None:
    # The contact's lock with the audit record's number, the replay check (it has an id), the
    # run, its timeline, the event with its result and the audit record (one statement).
    sql = statements(lambda: send_event("cart.abandoned", id="e-1"))
    assert len(sql) <= 3, sql
    stored = Event.objects.get(event_id="e-1")
    assert [line["action"] for line in stored.result] == ["started"]
    assert JourneyRun.objects.get(status=RunStatus.WAITING).entry_event_id == stored.pk


def test_an_api_keys_event_that_starts_a_run_is_two_statements(cart: None, issued_key: IssuedKey) -> None:
    # The replay check rides in the lock's statement (the unique index on (key, id) covers an
    # event committed while it waited): the lock, then every row in one.
    key = issued_key.api_key
    item = EventInput(name="cart.abandoned", contact="cust-1", id="e-1")
    sql = statements(lambda: event_record(item=item, api_key=key))
    assert len(sql) <= 2, sql
    stored = Event.objects.get(event_id="e-1", api_key=key)
    assert [line["action"] for line in stored.result] == ["started"]
    assert JourneyRun.objects.get(status=RunStatus.WAITING).entry_event_id == stored.pk
    # Its replay: the lock (which finds it) and the event read; nothing written.
    again = statements(lambda: event_record(item=item, api_key=key))
    assert len(again) <= 2, again
    replay = event_record(item=item, api_key=key)
    assert replay.replayed and replay.event.pk == stored.pk
    assert Event.objects.filter(event_id="e-1").count() == 1
    other = EventInput(name="page.viewed", contact="cust-1", id="e-1")
    with pytest.raises(EventRejected):  # the id, for another event
        event_record(item=other, api_key=key)


def test_an_event_no_journey_listens_for_reads_no_runs(cart: None) -> None:
    sql = statements(lambda: send_event("page.scrolled"))
    assert len(sql) <= 2, sql  # the contact's lock and the event


def test_an_exit_and_goal_event_is_a_handful_of_statements(cart: None) -> None:
    send_event("cart.abandoned")
    sql = statements(lambda: send_event("order.completed"))
    # The lock (with an audit record's number), the runs, the runs saved, the conversion's
    # look-up, the second run's record number (the warm-up run converts too), the timeline
    # with the event and the audit records (one statement).
    assert len(sql) <= 6, sql
    assert JourneyRun.objects.get(status=RunStatus.EXITED).converted_at is not None


def test_an_event_reads_the_generation_counters_in_one_round_trip(
    cart: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live journeys' counter and the conversion goals' (a goal event reads both): read
    # together, as a request reads them, though no request is under way.
    reads: list[str] = []
    read_all, read_one = generations._read_all, generations._generation_read

    def all_read(names: set[str]) -> dict[str, int]:
        reads.append("all")
        return read_all(names)

    def one_read(name: str) -> int | None:
        reads.append(name)
        return read_one(name)

    monkeypatch.setattr(generations, "_read_all", all_read)
    monkeypatch.setattr(generations, "_generation_read", one_read)
    send_event("order.completed")
    events_record(items=[EventInput(name="order.completed", contact="cust-1")], api_key=None)
    assert reads == ["all", "all"]


def _batch(count: int, prefix: str) -> list[EventInput]:
    """Per contact: a start, a resume, an event nobody listens for, an exit that converts."""
    names = ["cart.abandoned", "page.viewed", "page.scrolled", "order.completed"]
    return [
        EventInput(name=names[i % 4], contact=f"{prefix}-{i // 4 % (count // 4) + 1}", id=f"{prefix}-e{i}")
        for i in range(count)
    ]


def test_a_batch_is_the_same_statements_whatever_its_size(cart: None) -> None:
    make_contacts(50, prefix="few")
    make_contacts(250, prefix="many")
    few = _batch(40, "few")
    many = _batch(1000, "many")
    few_sql = statements(lambda: events_record(items=few, api_key=None))
    many_results: list[Any] = []
    many_sql = statements(lambda: many_results.extend(events_record(items=many, api_key=None)))
    # Contacts, replays, the events with their results, the goals' look-up, timeline, audit;
    # and per round (a contact's k-th event is in the k-th) the runs read, inserted and saved.
    assert len(many_sql) <= len(few_sql) <= 12, many_sql
    assert all(isinstance(r, EventOutcome) for r in many_results)
    actions = {line["action"] for r in many_results for line in r.event.result}
    assert actions == {"started", "resumed", "exited", "converted"}
