"""Events drive runs: exit events end them anywhere, goals convert them, re-entry policies and
version pinning hold, and a repeated event id changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from audit.models import AuditRecord
from audit.services import Actor
from hub.contacts.models import Contact
from hub.journeys.events import EventRejected
from hub.journeys.models import Event, JourneyRun, RunStatus
from hub.journeys.services import journey_draft_create, journey_version_approve, journey_version_submit
from hub.messaging.models import Notification
from tests.hub.journeys.conftest import definition, live_journey, send_event, wake_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]
DATA = {"first_name": "Ada", "order_number": "A-1"}
SEND = {"type": "send", "template": "order.shipped", "channels": ["sms"]}
CART = definition(
    key="abandoned_cart",
    name="Abandoned cart",
    trigger={"event": "cart.abandoned"},
    exit_events=[{"event": "order.completed"}],
    goal={"event": "order.completed", "within": "7d"},
    steps=[{"id": "pause", "type": "wait", "duration": "1h"}, {"id": "remind", **SEND}],
)


def test_an_exit_event_ends_a_waiting_run_and_its_goal_converts_it(contact: Contact) -> None:
    live_journey(CART)
    send_event("cart.abandoned", data=DATA)
    run = JourneyRun.objects.get()
    assert run.status == RunStatus.WAITING
    outcome = send_event("order.completed")
    assert [(line["action"], line["status"]) for line in outcome.event.result] == [
        ("exited", "exited"),
        ("converted", "exited"),
    ]
    run.refresh_from_db()
    assert (run.status, run.exit_event) == (RunStatus.EXITED, "order.completed")
    assert run.converted_at is not None and run.wake_at is None
    wake_now(run)  # nothing more happens to an ended run
    assert not Notification.objects.exists()
    # One audit record per run per transaction, holding that transaction's timeline entries.
    records = AuditRecord.objects.filter(object_id=str(run.id)).order_by("seq")
    assert {r.action for r in records} == {"journey_run.timeline"}
    kinds = [entry["kind"] for r in records for entry in r.payload["entries"]]
    assert kinds == ["started", "step_entered", "wait", "exited", "converted"]
    assert kinds == list(run.timeline.order_by("id").values_list("kind", flat=True))


def test_an_exit_condition_must_hold_for_the_exit(contact: Contact) -> None:
    live_journey(
        {**CART, "exit_events": [{"event": "order.completed", "condition": "event.data.total > 10"}]}
    )
    send_event("cart.abandoned", data=DATA)
    send_event("order.completed", data={"total": 5})
    assert JourneyRun.objects.get().status == RunStatus.WAITING
    send_event("order.completed", data={"total": 50})
    assert JourneyRun.objects.get().status == RunStatus.EXITED


def test_a_goal_after_its_window_does_not_convert(contact: Contact) -> None:
    live_journey({**CART, "exit_events": []})
    send_event("cart.abandoned", data=DATA)
    run = JourneyRun.objects.get()
    JourneyRun.objects.filter(pk=run.pk).update(created_at=run.created_at - timedelta(days=8))
    assert send_event("order.completed").event.result == []
    run.refresh_from_db()
    assert run.converted_at is None


def test_reentry_once_lets_a_contact_in_only_once(contact: Contact) -> None:
    live_journey({**CART, "reentry": {"policy": "once"}})
    send_event("cart.abandoned", data=DATA)
    send_event("order.completed")
    assert send_event("cart.abandoned", data=DATA).event.result == []
    assert JourneyRun.objects.count() == 1


def test_reentry_always_starts_a_run_per_event(contact: Contact) -> None:
    live_journey({**CART, "reentry": {"policy": "always"}})
    send_event("cart.abandoned", data=DATA)
    send_event("cart.abandoned", data=DATA)
    assert JourneyRun.objects.count() == 2
    assert len(set(JourneyRun.objects.values_list("entry", flat=True))) == 2


def test_reentry_once_per_a_period(contact: Contact) -> None:
    live_journey({**CART, "reentry": {"policy": "once_per", "period": "1d"}})
    send_event("cart.abandoned", data=DATA)
    assert send_event("cart.abandoned", data=DATA).event.result == []
    first = JourneyRun.objects.get()
    JourneyRun.objects.filter(pk=first.pk).update(created_at=first.created_at - timedelta(days=1, seconds=1))
    assert [line["action"] for line in send_event("cart.abandoned", data=DATA).event.result] == ["started"]
    assert JourneyRun.objects.count() == 2


def test_a_trigger_condition_decides_who_enters(contact: Contact) -> None:
    live_journey({**CART, "trigger": {"event": "cart.abandoned", "condition": "event.data.total >= 20"}})
    assert send_event("cart.abandoned", data={**DATA, "total": 5}).event.result == []
    assert len(send_event("cart.abandoned", data={**DATA, "total": 25}).event.result) == 1


def test_a_number_cel_cannot_hold_makes_a_condition_not_hold(contact: Contact) -> None:
    # An integer beyond 64 bits in the event's data (valid JSON) raised out of the event (a
    # 500) while turning the data into CEL's types; now the condition does not hold, as for a
    # missing key, and the event is stored.
    live_journey({**CART, "trigger": {"event": "cart.abandoned", "condition": "event.data.total >= 20"}})
    assert send_event("cart.abandoned", data={**DATA, "total": 2**70}).event.result == []
    assert send_event("cart.abandoned", data={**DATA, "total": 25, "huge": 2**70}).event.result == []
    assert Event.objects.count() == 2


def test_a_condition_converts_only_the_values_it_names(contact: Contact) -> None:
    # A condition on the event never turns the contact's attributes into CEL's types: one
    # CEL cannot hold there does not stop it.
    contact.attributes = {"score": 2**70}
    contact.save()
    live_journey({**CART, "trigger": {"event": "cart.abandoned", "condition": "event.data.total >= 20"}})
    assert len(send_event("cart.abandoned", data={**DATA, "total": 25}).event.result) == 1


def test_a_run_keeps_its_version_when_another_is_approved(contact: Contact) -> None:
    journey = live_journey(CART)
    send_event("cart.abandoned", data=DATA)
    pinned = JourneyRun.objects.get()
    # v2: remind by a different step after the wait; approved while the v1 run waits.
    v2_definition = {
        **CART,
        "steps": [{"id": "pause", "type": "wait", "duration": "1h"}, {"id": "stop", "type": "exit"}],
    }
    maker, checker = User.objects.get(username="journey-maker"), User.objects.get(username="journey-checker")
    v2 = journey_draft_create(journey=journey, author=maker, definition=v2_definition)
    journey_version_submit(version=v2, actor=Actor.user(maker.pk))
    journey_version_approve(version=v2, approver=checker)
    other = Contact.objects.create(external_id="cust-2", phone="+447911123457")
    send_event("cart.abandoned", contact="cust-2", data=DATA)
    fresh = JourneyRun.objects.get(contact=other)
    assert (pinned.version.number, fresh.version.number) == (1, 2)
    wake_now(pinned)
    wake_now(fresh)
    assert (pinned.status, pinned.step) == (RunStatus.COMPLETED, "remind")
    assert (fresh.status, fresh.step) == (RunStatus.COMPLETED, "stop")
    assert Notification.objects.get().contact == contact  # only v1's run sent


def test_a_repeated_event_id_is_accepted_once(contact: Contact) -> None:
    live_journey({**CART, "reentry": {"policy": "always"}})
    first = send_event("cart.abandoned", data=DATA, id="evt-1")
    again = send_event("cart.abandoned", data=DATA, id="evt-1")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.event.pk == first.event.pk and again.event.result == first.event.result
    assert Event.objects.count() == 1 and JourneyRun.objects.count() == 1
    with pytest.raises(EventRejected) as caught:
        send_event("order.completed", id="evt-1")
    assert caught.value.code == "event_id_reused"


def test_an_event_for_an_unknown_contact_is_refused_and_stores_nothing(db: None) -> None:
    with pytest.raises(EventRejected) as caught:
        send_event("cart.abandoned", contact="nobody")
    assert (caught.value.code, caught.value.field) == ("unknown_contact", "contact.external_id")
    assert not Event.objects.exists()


def test_erasing_a_contact_removes_their_events_and_runs(contact: Contact) -> None:
    from hub.erasure import contact_erase

    live_journey(CART)
    send_event("cart.abandoned", data={**DATA, "note": "personal"})
    contact_erase(contact=contact, actor=Actor.system())
    assert not Event.objects.exists() and not JourneyRun.objects.exists()
