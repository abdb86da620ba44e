"""The lifecycle: legal moves apply, illegal ones are refused, final states never change."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditRecord
from audit.services import Actor, AuditEntry
from hub.messaging.lifecycle import (
    FINAL_STATUSES,
    TRANSITIONS,
    Change,
    IllegalTransition,
    can_transition,
    messages_claim,
    messages_transition,
)
from hub.messaging.models import BlockReason, Message, MessageEvent, Notification
from hub.messaging.models import MessageStatus as S
from tests.hub.messaging.planning import by_key, plans_of, queue_unknown

ACTOR = Actor.system()


@pytest.fixture
def message(live_template) -> Message:
    version = live_template.live_version
    notification = Notification.objects.create(template=live_template, template_version=version)
    return Message.objects.create(
        notification=notification, channel="sms", category="transactional", to="+447911123456"
    )


def move(message, to, **fields):
    return messages_transition([Change(message.id, to, fields)], actor=ACTOR, source="test")


def test_every_status_is_covered():
    """Each status is either final or has somewhere to go; final ones go nowhere."""
    for status in S:
        assert (status in FINAL_STATUSES) != (status in TRANSITIONS), status


@pytest.mark.django_db
class TestTransitions:
    def test_happy_path_is_recorded_on_timeline_and_audit(self, message):
        for status in (S.QUEUED, S.SENDING, S.SENT, S.DELIVERED):
            assert move(message, status).applied
        message.refresh_from_db()
        assert message.status == S.DELIVERED
        events = list(MessageEvent.objects.filter(message=message).values_list("status", flat=True))
        assert events == ["queued", "sending", "sent", "delivered"]
        audit = AuditRecord.objects.filter(object_type="message", object_id=str(message.id))
        assert [(r.payload["from"], r.payload["to"]) for r in audit] == [
            ("accepted", "queued"),
            ("queued", "sending"),
            ("sending", "sent"),
            ("sent", "delivered"),
        ]

    def test_illegal_transition_is_refused(self, message):
        result = move(message, S.DELIVERED)  # accepted -> delivered skips the send
        assert result.refused and not result.applied
        message.refresh_from_db()
        assert message.status == S.ACCEPTED

    def test_strict_raises(self, message):
        with pytest.raises(IllegalTransition):
            messages_transition([Change(message.id, S.SENT)], actor=ACTOR, source="test", strict=True)

    def test_late_event_after_final_is_recorded_only(self, message):
        """A 'sent' arriving after 'delivered' is an event on the timeline, not a status change."""
        for status in (S.QUEUED, S.SENDING, S.DELIVERED):
            move(message, status)
        result = move(message, S.SENT)
        assert result.recorded_only and not result.applied
        message.refresh_from_db()
        assert message.status == S.DELIVERED
        late = MessageEvent.objects.filter(message=message).last()
        assert late is not None
        assert late.kind == "provider" and late.status == "sent"

    def test_fields_outside_the_allowed_set_are_rejected(self, message):
        with pytest.raises(ValueError, match="may not set"):
            messages_transition([Change(message.id, S.QUEUED, {"to": "+1"})], actor=ACTOR, source="test")

    def test_block_reason_is_stored(self, message):
        move(message, S.BLOCKED, block_reason=BlockReason.NO_CONSENT)
        message.refresh_from_db()
        assert (message.status, message.block_reason) == (S.BLOCKED, "no_consent")

    def test_records_given_to_precede_the_changes_come_first_in_one_append(self, message):
        before = [AuditEntry(ACTOR, "notification.accepted", "notification", str(message.notification_id))]
        messages_transition([Change(message.id, S.QUEUED)], actor=ACTOR, source="test", audit_before=before)
        trail = list(AuditRecord.objects.order_by("seq").values_list("action", "object_id"))
        assert trail[-2:] == [
            ("notification.accepted", str(message.notification_id)),
            ("message.status_changed", str(message.id)),
        ]

    def test_records_given_to_precede_are_written_when_there_is_no_change(self, message):
        before = [AuditEntry(ACTOR, "notification.accepted", "notification", str(message.notification_id))]
        messages_transition([], actor=ACTOR, source="test", audit_before=before)
        assert AuditRecord.objects.filter(action="notification.accepted").count() == 1

    def test_statuses_the_caller_holds_are_not_read_again(self, message):
        """``held``: the caller's transaction has the row (it just wrote it); its status decides."""
        with CaptureQueriesContext(connection) as captured:
            result = messages_transition(
                [Change(message.id, S.SENDING)], actor=ACTOR, source="test", held={message.id: S.QUEUED}
            )
        assert result.applied  # queued → sending, though the row still says accepted
        locks = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
        assert not [sql for sql in locks if 'FROM "messaging_message"' in sql], locks  # others may lock
        message.refresh_from_db()
        assert message.status == S.SENDING

    def test_new_messages_are_written_in_their_decided_status(self, live_template):
        """``new``: the rows are inserted as the changes leave them (no INSERT then UPDATE),
        each with its initial event and its change's in one INSERT; one record per change."""
        notification = Notification.objects.create(
            template=live_template, template_version=live_template.live_version
        )
        made = [
            Message(notification=notification, channel="sms", category="transactional", to=to)
            for to in ("+447911123456", "+447911123457")
        ]
        changes = [Change(made[0].id, S.QUEUED, {"decided_by": "test"}), Change(made[1].id, S.SENDING)]
        with CaptureQueriesContext(connection) as captured:
            result = messages_transition(
                changes, actor=ACTOR, source="api", new=made, new_detail={"door": "test"}
            )
        statements = [q["sql"] for q in captured.captured_queries]
        assert [c.message_id for c in result.applied] == [made[0].id]  # accepted → sending refused
        assert [c.message_id for c in result.refused] == [made[1].id]
        assert not [sql for sql in statements if sql.startswith("UPDATE")], statements
        # On SQLite the query log writes a prepared INSERT run per row as "N times: INSERT …".
        assert sum('INSERT INTO "messaging_message" ' in sql for sql in statements) == 1
        assert sum('INSERT INTO "messaging_messageevent" ' in sql for sql in statements) == 1
        rows = dict(Message.objects.filter(notification=notification).values_list("id", "status"))
        assert rows == {made[0].id: S.QUEUED, made[1].id: S.ACCEPTED}
        assert Message.objects.get(id=made[0].id).decided_by == "test"
        assert made[0].status == S.QUEUED and not made[0]._state.adding  # the instance as written
        timeline = list(
            MessageEvent.objects.filter(message_id=made[0].id)
            .order_by("id")
            .values_list("status", "detail", "source")
        )
        assert timeline == [("accepted", {"door": "test"}, "api"), ("queued", {"decided_by": "test"}, "api")]
        assert list(MessageEvent.objects.filter(message_id=made[1].id).values_list("status", flat=True)) == [
            "accepted"
        ]
        audit = AuditRecord.objects.filter(object_type="message", action="message.status_changed")
        assert [(r.object_id, r.payload["from"], r.payload["to"]) for r in audit] == [
            (str(made[0].id), "accepted", "queued")
        ]

    def test_new_messages_are_not_written_when_a_strict_change_is_refused(self, live_template):
        notification = Notification.objects.create(
            template=live_template, template_version=live_template.live_version
        )
        made = Message(notification=notification, channel="sms", category="transactional", to="+447911123456")
        with pytest.raises(IllegalTransition):
            messages_transition([Change(made.id, S.SENT)], actor=ACTOR, source="api", new=[made], strict=True)
        assert not Message.objects.filter(notification=notification).exists()

    @pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
    def test_no_way_out_of_a_final_state(self, final):
        for target in S:
            assert not can_transition(final, target)


@pytest.mark.django_db
class TestClaim:
    def test_claim_only_once(self, message):
        """A second claim of the same message (a redelivered task) gets nothing."""
        move(message, S.QUEUED)
        assert messages_claim([message.id], actor=ACTOR) == [message.id]
        assert messages_claim([message.id], actor=ACTOR) == []
        message.refresh_from_db()
        assert (message.status, message.attempts) == (S.SENDING, 1)

    def test_claim_waits_for_not_before(self, message):
        from datetime import timedelta

        from django.utils import timezone

        move(message, S.QUEUED, not_before=timezone.now() + timedelta(minutes=5))
        assert messages_claim([message.id], actor=ACTOR) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_claim_reads_its_messages_by_key_whatever_the_statistics(live_template) -> None:
    """The claim's conditional UPDATE reads the messages it names by key, not by status
    (tests/hub/messaging/planning.py)."""
    messages = queue_unknown(live_template)
    wanted = [m.id for m in messages[:10]]
    claimed: list[Any] = []
    plans = plans_of(lambda: claimed.extend(messages_claim(wanted, actor=ACTOR)))
    assert sorted(claimed) == sorted(wanted)
    (claim,) = [plan for plan in plans if plan.startswith("Update")]
    assert by_key(claim), claim
