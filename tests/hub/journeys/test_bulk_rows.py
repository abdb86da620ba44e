"""Rows written together (``hub.journeys.bulk.rows_create_together``: one statement, each
table's rows one jsonb parameter) are the rows ``rows_insert`` writes (a parameter a value),
value for value, and an audit record written so verifies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from audit.models import AuditRecord
from audit.services import RECORD_COLUMNS, Actor, AuditEntry, audit_rows, record_hash
from hub.contacts.models import Contact
from hub.journeys.bulk import new_row, rows_create, rows_create_together, rows_values
from hub.journeys.models import Event, JourneyRun
from tests.hub.journeys.conftest import definition, live_journey

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]

ODD = 'quote " back \\ slash, 日本語 ✓, tab\t, newline\n'
WHEN = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))


def _pair(contact: Contact, tag: str) -> tuple[Event, JourneyRun]:
    journey = live_journey(definition(key=f"bulk-{tag}"))
    event = new_row(
        Event,
        {"api_key": None, "contact": contact},
        event_id=f"{ODD}{tag}",
        name="cart.abandoned",
        data={"text": ODD, "n": 2**53 + 1, "f": 0.1, "none": None, "list": [1, "two", {"three": 3.5}]},
        occurred_at=WHEN,
        received_at=WHEN,
        result="a JSON string",
    )
    run = new_row(
        JourneyRun,
        {
            "journey": journey,
            "version": journey.live_version,
            "contact": contact,
            "entry_event": event,
            "api_key": None,
        },
        entry=f"{ODD}{tag}",
        step="watch",
        wake_at=WHEN,
        waiting_for={"kind": "event", "event": "page.viewed", "unicode": ODD},
        state={"steps": {"a": {"outcome": "sent"}}, "empty": {}},
        created_at=WHEN,
        updated_at=WHEN,
    )
    return event, run


# What differs between the two pairs by design: their ids, their journeys, their own ids.
APART = {"id", "event_id", "entry", "entry_event_id", "journey_id", "version_id"}


def _stored(model: type[Any], pk: Any) -> dict[str, Any]:
    found = model.objects.filter(pk=pk).values().get()
    return {k: v for k, v in found.items() if k not in APART}


@pytest.mark.postgres  # one statement on PostgreSQL only
def test_rows_written_together_are_the_rows_written_one_table_at_a_time(contact: Contact) -> None:
    together = _pair(contact, "together")
    apart = _pair(contact, "apart")
    record = AuditEntry(
        Actor.system(), "test.bulk", "thing", "1", {"text": ODD, "amount": str(Decimal("1.50"))}
    )
    rows_create_together(
        [
            (Event, *rows_values(Event, [together[0]])),
            (JourneyRun, *rows_values(JourneyRun, [together[1]])),
            (AuditRecord, RECORD_COLUMNS, audit_rows([record])),
        ]
    )
    rows_create(Event, [apart[0]])
    rows_create(JourneyRun, [apart[1]])
    assert _stored(Event, together[0].pk) == _stored(Event, apart[0].pk)
    assert _stored(JourneyRun, together[1].pk) == _stored(JourneyRun, apart[1].pk)
    event = Event.objects.get(pk=together[0].pk)
    assert (
        event.event_id == f"{ODD}together" and event.occurred_at == WHEN and event.result == "a JSON string"
    )
    assert event.data["n"] == 2**53 + 1 and event.data["list"][2] == {"three": 3.5}
    run = JourneyRun.objects.get(pk=together[1].pk)
    assert run.entry == f"{ODD}together" and run.wake_at == WHEN and run.ended_at is None
    stored = AuditRecord.objects.get(action="test.bulk")
    assert stored.payload == {"text": ODD, "amount": "1.50"}
    assert stored.hash == record_hash(stored)
    assert stored.txid is not None  # the column's default, as an INSERT naming the columns gives it


@pytest.mark.postgres  # one statement on PostgreSQL only
def test_a_value_json_cannot_carry_is_refused() -> None:
    with pytest.raises(TypeError):
        rows_create_together(
            [
                (AuditRecord, ("seq", "payload"), [(1, {})]),
                (Event, ("name", "data"), [(b"bytes", {})]),
            ]
        )
