"""Simulate a journey version: real rules and templates, nothing sent or written (17.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hub.journeys.simulate import SimulationInputError, events_parse, journey_simulate
from tests.factories import grant_consent, make_contacts, make_live_template, zone_at_local_hour
from tests.hub.journeys.conftest import definition

pytestmark = pytest.mark.django_db
DATA = "first_name=Ada order_number=A-1"
CART = definition(
    key="cart",
    trigger={"event": "cart.abandoned", "condition": "event.data.total >= 20"},
    exit_events=[{"event": "order.completed"}],
    goal={"event": "order.completed", "within": "7d"},
    steps=[
        {"id": "first", "type": "send", "template": "order.shipped", "channels": ["sms"]},
        {
            "id": "reply",
            "type": "wait_for",
            "event": "cart.viewed",
            "timeout": "1d",
            "on_match": "big",
            "on_timeout": "promo",
        },
        {
            "id": "big",
            "type": "branch",
            "branches": [{"condition": "event.data.total >= 100", "next": "promo", "label": "big carts"}],
            "default": "done",
        },
        {"id": "promo", "type": "send", "template": "promo", "channels": ["sms"], "on_blocked": "done"},
        {"id": "done", "type": "exit"},
    ],
)


@pytest.fixture
def templates(shipped):
    return shipped, make_live_template(
        "promo",
        category="marketing",
        variants=[{"channel": "sms", "locale": "en", "text": "Come back {{ first_name }}"}],
    )


def _run(contact, text: str, value=CART):
    return journey_simulate(value, contact=contact, events=events_parse(text), start=timezone.now())


def _rows() -> dict[str, int]:
    from audit.models import AuditRecord
    from hub.journeys.models import Event, JourneyRun, JourneyRunEntry, JourneyRunMessage
    from hub.messaging.models import Message, MessageEvent, Notification

    models = (
        AuditRecord,
        Event,
        JourneyRun,
        JourneyRunEntry,
        JourneyRunMessage,
        Message,
        MessageEvent,
        Notification,
    )
    return {m.__name__: m.objects.count() for m in models}


def test_each_step_outcome_with_the_real_rules_and_content(templates) -> None:
    [contact] = make_contacts(1)
    contact.timezone = zone_at_local_hour(12)
    contact.save()
    result = _run(contact, f"+0m cart.abandoned total=150 {DATA}\n+2h cart.viewed")
    outcomes = [(s.step, s.outcome) for s in result.steps]
    # No marketing consent: the promo is blocked by the consent rule and the run goes on to done.
    assert outcomes == [
        ("first", "sent"),
        ("reply", "matched"),
        ("big", "took big carts"),
        ("promo", "blocked"),
        ("done", "exit"),
    ]
    first = result.steps[0].messages[0]
    assert first["content"]["text"] == "Hi Ada, order A-1 is on its way."
    assert first["to"] == contact.phone
    promo = result.steps[3].messages[0]
    assert promo["block_reason"] == "no_consent" and "marketing_consent" in promo["sentence"]
    assert result.ending == "completed: exit step done"
    assert result.steps[1].at == result.steps[0].at  # waits start when the step is entered


def test_consent_and_quiet_hours_defer_then_send(templates) -> None:
    [contact] = make_contacts(1)
    contact.timezone = zone_at_local_hour(23)  # marketing SMS waits for 08:00 local
    contact.save()
    grant_consent(contact, "sms")
    result = _run(contact, f"+0m cart.abandoned total=30 {DATA}")
    promo = next(s for s in result.steps if s.step == "promo")
    assert promo.outcome == "deferred" and any("the run waits until" in n for n in promo.notes)
    assert result.steps[-1].step == "done"
    assert result.steps[-1].at > promo.at + timedelta(hours=8)


def test_exit_and_goal_events_end_the_run_while_it_waits(templates) -> None:
    [contact] = make_contacts(1)
    result = _run(contact, f"+0m cart.abandoned total=30 {DATA}\n+3h order.completed")
    assert [s.step for s in result.steps] == ["first", "reply"]
    assert result.ending.startswith("exited by `order.completed`")
    assert result.converted.startswith("converted by `order.completed`")


def test_not_started_and_failed_sends_say_why(templates) -> None:
    [contact] = make_contacts(1)
    assert _run(contact, "+0m cart.abandoned total=5").ending.startswith(
        "not started: the trigger's condition"
    )
    assert (
        _run(contact, "+0m order.completed").ending
        == "not started: the first event must be the trigger, `cart.abandoned`"
    )
    failed = _run(contact, "+0m cart.abandoned total=30")  # the template needs first_name, order_number
    assert failed.steps[0].outcome == "failed" and failed.ending.startswith("failed at step first")


def test_message_status_and_timeout(templates) -> None:
    [contact] = make_contacts(1)
    value = definition(
        key="status",
        steps=[
            {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"]},
            {
                "id": "seen",
                "type": "wait_for",
                "message": {"step": "hello", "status": ["delivered"]},
                "timeout": "1h",
                "on_match": "done",
                "on_timeout": "again",
            },
            {"id": "again", "type": "send", "template": "order.shipped", "channels": ["sms"]},
            {"id": "done", "type": "exit"},
        ],
    )
    matched = _run(contact, f"+0m signed.up {DATA}\n+5m status hello delivered", value)
    assert [s.step for s in matched.steps] == ["hello", "seen", "done"]
    late = _run(contact, f"+0m signed.up {DATA}\n+2h status hello delivered", value)
    assert [(s.step, s.outcome) for s in late.steps][1:3] == [("seen", "timeout"), ("again", "sent")]


def test_a_status_of_a_step_that_sent_nothing_never_comes(templates) -> None:
    """As in a real run: the promo is blocked (no marketing consent), so "delivered" given for it
    is set aside, with a note saying so, and the wait times out."""
    [contact] = make_contacts(1)
    value = definition(
        key="blocked_status",
        steps=[
            {"id": "hello", "type": "send", "template": "promo", "channels": ["sms"], "next": "seen"},
            {
                "id": "seen",
                "type": "wait_for",
                "message": {"step": "hello", "status": ["delivered"]},
                "timeout": "1h",
                "on_match": "done",
                "on_timeout": "done",
            },
            {"id": "done", "type": "exit"},
        ],
    )
    result = _run(contact, f"+0m signed.up {DATA}\n+5m status hello delivered", value)
    assert [(s.step, s.outcome) for s in result.steps][:2] == [("hello", "blocked"), ("seen", "timeout")]
    assert any("sent nothing" in note for note in result.steps[1].notes)


def test_simulating_writes_nothing(templates) -> None:
    """No event, run, timeline, notification, message or audit record: the tables do not move."""
    [contact] = make_contacts(1)
    grant_consent(contact, "sms")
    before = _rows()
    for text in (
        f"+0m cart.abandoned total=150 {DATA}\n+2h cart.viewed",
        f"+0m cart.abandoned total=30 {DATA}\n+3h order.completed",
        "+0m cart.abandoned total=30",
    ):
        _run(contact, text)
    assert _rows() == before


def test_the_event_list_is_read_with_clear_errors() -> None:
    events = events_parse("+0m a.b n=3 ok=true s=text\n# a comment\n+2h status hello clicked")
    assert events[0].data == {"n": 3, "ok": True, "s": "text"}
    assert (events[1].after, events[1].name, events[1].status) == (timedelta(hours=2), "hello", "clicked")
    for text, line in (("cart.abandoned", 1), ("+0m a\n+1x b", 2), ("+0m a n", 1), ("", 1)):
        with pytest.raises(SimulationInputError) as caught:
            events_parse(text)
        assert caught.value.line == line


def test_hostile_inputs_end_cleanly(templates) -> None:
    from hub.journeys.simulate import MAX_EVENTS

    [contact] = make_contacts(1)
    looping = definition(
        key="loop",
        steps=[{"id": "long", "type": "wait", "duration": "999999d", "next": "long"}],
    )
    result = _run(contact, "+0m signed.up", looping)
    assert result.ending.startswith("failed: the simulated clock ran past")
    with pytest.raises(SimulationInputError):
        events_parse("+0m a\n" * (MAX_EVENTS + 1))


def test_the_reentry_policy_is_applied_as_the_intake_would(templates) -> None:
    from tests.hub.journeys.conftest import live_journey, send_event

    [contact] = make_contacts(1)
    welcome = definition(reentry={"policy": "once"})
    live_journey(welcome)
    assert _run(contact, f"+0m signed.up {DATA}", welcome).started
    send_event("signed.up", contact=contact.external_id, data={"first_name": "Ada", "order_number": "A-1"})
    again = _run(contact, f"+0m signed.up {DATA}", welcome)
    assert not again.started and "already entered" in again.ending
    weekly = definition(reentry={"policy": "once_per", "period": "7d"})
    assert "within the last 7 days" in _run(contact, f"+0m signed.up {DATA}", weekly).ending
    assert _run(contact, f"+0m signed.up {DATA}", definition(reentry={"policy": "always"})).started
