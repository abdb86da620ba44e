"""Each step kind, driven the way production drives it: events in, beat's wake-up, status changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.services import Actor
from hub.contacts.models import Contact
from hub.journeys.models import JourneyRun, JourneyRunMessage, RunStatus
from hub.journeys.steps import local_time_after
from hub.journeys.wake import journeys_on_status_change
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message, MessageStatus, Notification
from templates_app.models import Category
from tests.factories import MARKETING_DATA, grant_consent, make_live_template, zone_at_local_hour
from tests.hub.journeys.conftest import definition, live_journey, send_event, wake_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]
DATA = {"first_name": "Ada", "order_number": "A-1"}
SEND = {"type": "send", "template": "order.shipped", "channels": ["sms"]}


def only_run() -> JourneyRun:
    return JourneyRun.objects.select_related("version").get()


def kinds(run: JourneyRun) -> list[tuple[str, str]]:
    return list(run.timeline.order_by("at", "id").values_list("kind", "step"))


def test_a_send_step_creates_its_notification_through_the_intake(contact: Contact) -> None:
    live_journey(definition(steps=[{"id": "hello", **SEND}]))
    outcome = send_event("signed.up", data=DATA)
    run = only_run()
    assert [(line["action"], line["status"]) for line in outcome.event.result] == [("started", "completed")]
    notification = Notification.objects.get()
    assert notification.contact == contact
    assert notification.reference == f"journey:welcome:{run.id}:hello"
    assert [m.status for m in notification.messages.all()] == [MessageStatus.QUEUED]
    assert kinds(run) == [
        ("started", ""),
        ("step_entered", "hello"),
        ("message", "hello"),
        ("step_left", "hello"),
        ("completed", "hello"),
    ]
    assert run.state["steps"]["hello"]["outcome"] == "sent"


def test_a_send_that_cannot_be_made_fails_the_run_and_says_why(contact: Contact) -> None:
    live_journey(definition(steps=[{"id": "hello", **SEND}]))
    send_event("signed.up", data={})  # the template needs first_name and order_number
    run = only_run()
    assert run.status == RunStatus.FAILED
    assert "invalid_data" in run.timeline.get(kind="failed").detail["reason"]
    assert not Notification.objects.exists()


def test_a_wait_sleeps_until_its_time_then_beat_moves_it_on(contact: Contact) -> None:
    steps = [{"id": "pause", "type": "wait", "duration": "2h"}, {"id": "hello", **SEND}]
    live_journey(definition(steps=steps))
    before = timezone.now()
    send_event("signed.up", data=DATA)
    run = only_run()
    assert (run.status, run.step) == (RunStatus.WAITING, "pause")
    assert run.wake_at is not None and before + timedelta(
        hours=2
    ) <= run.wake_at <= timezone.now() + timedelta(hours=2)
    assert not Notification.objects.exists()
    wake_now(run)
    assert run.status == RunStatus.COMPLETED
    assert Notification.objects.count() == 1


def test_a_wait_until_a_local_time_is_the_next_such_time_in_the_contacts_zone() -> None:
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # 21:00 in Paris
    assert local_time_after(now, "09:00", "Europe/Paris") == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert local_time_after(now, "22:30", "Europe/Paris") == datetime(2026, 3, 1, 21, 30, tzinfo=UTC)
    assert local_time_after(now, "09:00", "") == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


WAIT_FOR_EVENT = [
    {
        "id": "ask",
        "type": "wait_for",
        "event": "review.posted",
        "condition": "event.data.stars >= 4",
        "timeout": "1d",
        "on_match": "thanks",
        "on_timeout": "nudge",
    },
    {"id": "nudge", "type": "exit"},
    {"id": "thanks", **SEND},
]


def test_wait_for_an_event_resumes_on_a_matching_one(contact: Contact) -> None:
    live_journey(definition(steps=WAIT_FOR_EVENT))
    send_event("signed.up", data=DATA)
    run = only_run()
    assert run.waiting_for == {"kind": "event", "event": "review.posted"}
    assert send_event("review.posted", data={"stars": 2}).event.result == []  # the condition says no
    outcome = send_event("review.posted", data={**DATA, "stars": 5})
    assert [line["action"] for line in outcome.event.result] == ["resumed"]
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.state["steps"]["ask"] == {
        "outcome": "matched",
        "event": {"name": "review.posted", "data": {**DATA, "stars": 5}},
    }
    assert Notification.objects.count() == 1


def test_wait_for_an_event_follows_its_timeout_branch(contact: Contact) -> None:
    live_journey(definition(steps=WAIT_FOR_EVENT))
    send_event("signed.up", data=DATA)
    run = only_run()
    wake_now(run)
    assert (run.status, run.step) == (RunStatus.COMPLETED, "nudge")
    assert run.state["steps"]["ask"] == {"outcome": "timeout"}
    assert not Notification.objects.exists()


WAIT_FOR_STATUS = [
    {"id": "hello", **SEND},
    {
        "id": "seen",
        "type": "wait_for",
        "message": {"step": "hello", "status": ["delivered"]},
        "timeout": "1h",
        "on_match": "done",
        "on_timeout": "again",
    },
    {"id": "again", **SEND},
    {"id": "done", "type": "exit"},
]


def test_wait_for_a_message_status_is_woken_by_the_status_change(contact: Contact) -> None:
    live_journey(definition(steps=WAIT_FOR_STATUS))
    send_event("signed.up", data=DATA)
    run = only_run()
    assert run.waiting_for == {"kind": "message", "step": "hello", "statuses": ["delivered"]}
    message_id = JourneyRunMessage.objects.get(run=run).message_id
    journeys_on_status_change([Change(message_id, "sent")], source="test", occurred_at=timezone.now())
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING  # not the status it waits for
    journeys_on_status_change([Change(message_id, "delivered")], source="test", occurred_at=timezone.now())
    run.refresh_from_db()
    assert (run.status, run.step) == (RunStatus.COMPLETED, "done")
    assert run.state["steps"]["seen"] == {"outcome": "matched", "status": "delivered"}
    assert Notification.objects.count() == 1


def test_wait_for_is_woken_by_the_lifecycle_itself(contact: Contact) -> None:
    """Wired through the status-change effects registry: the real transition wakes the run."""
    live_journey(definition(steps=WAIT_FOR_STATUS))
    send_event("signed.up", data=DATA)
    run = only_run()
    message_id = JourneyRunMessage.objects.get(run=run).message_id
    Message.objects.filter(pk=message_id).update(status="sent")
    messages_transition([Change(message_id, "delivered")], actor=Actor.system(), source="test")
    run.refresh_from_db()
    assert (run.status, run.step) == (RunStatus.COMPLETED, "done")


def test_wait_for_a_message_status_times_out_to_its_branch(contact: Contact) -> None:
    live_journey(definition(steps=WAIT_FOR_STATUS))
    send_event("signed.up", data=DATA)
    run = only_run()
    wake_now(run)
    assert (run.status, run.step) == (RunStatus.COMPLETED, "done")
    assert Notification.objects.count() == 2  # "again" sent


BRANCHES = [
    {
        "id": "pick",
        "type": "branch",
        "branches": [
            {"condition": "contact.attributes.tier == 'gold'", "next": "gold", "label": "gold customers"},
            {"condition": "event.data.order_number == 'A-1'", "next": "first"},
        ],
        "default": "other",
    },
    {"id": "gold", "type": "exit"},
    {"id": "first", "type": "exit"},
    {"id": "other", "type": "exit"},
]


@pytest.mark.parametrize(
    ("attributes", "order", "ended_at", "taken"),
    [
        ({"tier": "gold"}, "A-1", "gold", "gold customers"),
        ({"tier": "silver"}, "A-1", "first", "branch 2"),
        ({"tier": "silver"}, "B-2", "other", "default"),
    ],
)
def test_a_branch_takes_the_first_true_condition_and_says_why(
    contact: Contact, attributes: dict[str, Any], order: str, ended_at: str, taken: str
) -> None:
    Contact.objects.filter(pk=contact.pk).update(attributes=attributes)
    live_journey(definition(steps=BRANCHES))
    send_event("signed.up", data={"order_number": order})
    run = only_run()
    assert (run.status, run.step) == (RunStatus.COMPLETED, ended_at)
    assert run.timeline.get(kind="branch").detail["taken"] == taken


def test_a_branch_condition_that_cannot_be_evaluated_is_recorded_and_skipped(contact: Contact) -> None:
    live_journey(definition(steps=BRANCHES))
    send_event("signed.up", data={})  # contact.attributes.tier and event.data.order_number missing
    run = only_run()
    assert run.step == "other"
    errors = [e.detail for e in run.timeline.filter(kind="branch") if "error" in e.detail]
    assert [e["branch"] for e in errors] == [0, 1]


def digest_journey(**digest: Any) -> None:
    make_live_template(
        "comments.digest",
        variants=[{"channel": "sms", "locale": "en", "text": "You have {{ count }} new comments."}],
        variables=[{"name": "count", "type": "number", "required": True, "example": 2}],
    )
    step = {
        "id": "gather",
        "type": "digest",
        "event": "comment.added",
        "window": "1h",
        "key": "thread",
        "template": "comments.digest",
        "channels": ["sms"],
        **digest,
    }
    live_journey(definition(trigger={"event": "comment.added"}, reentry={"policy": "always"}, steps=[step]))


def test_a_digest_closes_early_at_its_count_and_sends_once_with_every_event(contact: Contact) -> None:
    digest_journey(max_events=3)
    for n in range(3):
        send_event("comment.added", data={"thread": "t1", "n": n})
    send_event("comment.added", data={"thread": "t2", "n": 9})  # another key: a run of its own
    first = JourneyRun.objects.order_by("created_at").first()
    assert first is not None and first.status == RunStatus.COMPLETED
    assert JourneyRun.objects.count() == 2
    notification = Notification.objects.get()
    assert notification.data["count"] == 3
    assert [e["n"] for e in notification.data["events"]] == [0, 1, 2]
    assert first.timeline.filter(kind="digest", detail__closed="count").exists()


def test_a_digest_closes_when_its_window_ends(contact: Contact) -> None:
    digest_journey(max_events=10)
    send_event("comment.added", data={"thread": "t1", "n": 1})
    send_event("comment.added", data={"thread": "t1", "n": 2})
    run = only_run()
    assert run.status == RunStatus.WAITING and not Notification.objects.exists()
    wake_now(run)
    assert run.status == RunStatus.COMPLETED
    assert Notification.objects.get().data["count"] == 2


def test_an_exit_step_completes_the_run_there(contact: Contact) -> None:
    live_journey(definition(steps=[{"id": "stop", "type": "exit"}, {"id": "hello", **SEND}]))
    send_event("signed.up", data=DATA)
    run = only_run()
    assert (run.status, run.step) == (RunStatus.COMPLETED, "stop")
    assert not Notification.objects.exists()


def test_a_branch_loop_fails_the_run_instead_of_spinning(contact: Contact) -> None:
    steps = [{"id": "a", "type": "branch", "branches": [{"condition": "true", "next": "a"}]}]
    live_journey(definition(steps=steps))
    send_event("signed.up")
    run = only_run()
    assert run.status == RunStatus.FAILED
    assert "without a wait" in run.timeline.get(kind="failed").detail["reason"]


MARKETING = {"type": "send", "template": "promo.spring", "channels": ["sms"], "data": MARKETING_DATA}


def test_quiet_hours_defer_a_send_and_the_run_waits_for_it(contact: Contact, marketing_template: Any) -> None:
    Contact.objects.filter(pk=contact.pk).update(timezone=zone_at_local_hour(23))
    grant_consent(contact, "sms")
    live_journey(definition(steps=[{"id": "promo", **MARKETING}, {"id": "stop", "type": "exit"}]))
    send_event("signed.up")
    run = only_run()
    assert (run.status, run.step, run.waiting_for) == (
        RunStatus.WAITING,
        "promo",
        {"kind": "deferred", "step": "promo"},
    )
    message = Notification.objects.get().messages.get()
    assert message.status == MessageStatus.DEFERRED
    assert message.not_before is not None and run.wake_at is not None and run.wake_at > message.not_before
    wake_now(run)  # the message is still deferred (nothing released it): the run keeps waiting
    assert run.status == RunStatus.WAITING
    message.status = MessageStatus.QUEUED  # as the release at its time does
    message.save(update_fields=["status"])
    wake_now(run)
    assert (run.status, run.step) == (RunStatus.COMPLETED, "stop")
    assert run.state["steps"]["promo"]["outcome"] == "sent"


def test_a_blocked_send_records_why_and_follows_its_blocked_branch(
    contact: Contact, marketing_template: Any
) -> None:
    steps = [
        {"id": "promo", **MARKETING, "on_blocked": "fallback"},
        {"id": "stop", "type": "exit"},
        {"id": "fallback", "type": "exit"},
    ]
    live_journey(definition(steps=steps))
    send_event("signed.up")  # no marketing consent
    run = only_run()
    assert (run.status, run.step) == (RunStatus.COMPLETED, "fallback")
    assert run.state["steps"]["promo"]["outcome"] == "blocked"
    assert run.state["steps"]["promo"]["block_reason"] == "no_consent"
    message_entry = run.timeline.get(kind="message").detail
    assert message_entry["messages"][0]["block_reason"] == "no_consent"
    assert message_entry["messages"][0]["decided_by"]


def test_a_marketing_journey_send_counts_as_a_marketing_send(contact: Contact) -> None:
    """Journeys get no special case: the template's category drives the rules."""
    template = make_live_template(
        "promo.other",
        category=Category.MARKETING,
        variants=[{"channel": "sms", "locale": "en", "text": "Hi. Reply STOP to opt out."}],
    )
    assert template.category == Category.MARKETING
    live_journey(
        definition(steps=[{"id": "p", "type": "send", "template": "promo.other", "channels": ["sms"]}])
    )
    send_event("signed.up")
    assert Notification.objects.get().messages.get().block_reason == "no_consent"


def test_a_step_interrupted_before_commit_leaves_the_run_due_and_sends_once(
    contact: Contact, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when a worker dies mid-step: the send and the run's move commit together or not at all."""
    steps = [{"id": "pause", "type": "wait", "duration": "1h"}, {"id": "hello", **SEND}]
    live_journey(definition(steps=steps))
    send_event("signed.up", data=DATA)
    run = only_run()

    def die(self: Any) -> None:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr("hub.journeys.timeline.Timeline.flush", die)
        wake_now(run)
    assert (run.status, run.step) == (RunStatus.WAITING, "pause")
    assert not Notification.objects.exists()
    wake_now(run)
    assert run.status == RunStatus.COMPLETED
    assert Notification.objects.count() == 1
    wake_now(run)
    assert Notification.objects.count() == 1


def test_frequency_caps_count_journey_sends(contact: Contact, marketing_template: Any) -> None:
    """A cap of one marketing message a day: the journey's first send passes, its second is
    capped and the run follows that step's blocked branch; later runs woken together by beat
    (one intake call) are capped by it too."""
    from hub.compliance.services import rule_create

    rule_create(
        key="cap",
        kind="frequency_cap",
        effect="block",
        category="marketing",
        params={"limit": 1, "window_hours": 24},
    )
    Contact.objects.filter(pk=contact.pk).update(timezone=zone_at_local_hour(12))
    grant_consent(contact, "sms")
    steps = [
        {"id": "first", **MARKETING},
        {"id": "second", **MARKETING, "on_blocked": "capped"},
        {"id": "done", "type": "exit"},
        {"id": "capped", "type": "exit"},
    ]
    live_journey(definition(reentry={"policy": "always"}, steps=steps))
    send_event("signed.up")
    run = only_run()
    assert (run.state["steps"]["first"]["outcome"], run.state["steps"]["second"]["outcome"]) == (
        "sent",
        "blocked",
    )
    assert run.state["steps"]["second"]["block_reason"] == "frequency_capped"
    assert (run.status, run.step) == (RunStatus.COMPLETED, "capped")
    # Two runs of the contact woken in one batch: the journey's earlier send counts.
    JourneyRun.objects.all().delete()
    live_journey(
        definition(
            reentry={"policy": "always"}, steps=[{"id": "nap", "type": "wait", "duration": "1h"}, *steps]
        )
    )
    send_event("signed.up")
    send_event("signed.up")
    JourneyRun.objects.update(wake_at=timezone.now() - timedelta(seconds=1))
    from hub.journeys.wake import journeys_wake_due

    journeys_wake_due()
    outcomes = sorted(r.state["steps"]["first"]["block_reason"] for r in JourneyRun.objects.all())
    assert outcomes == ["frequency_capped", "frequency_capped"]
