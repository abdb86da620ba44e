"""A hypothesis state machine over the message lifecycle (issue 9, item 16).

A few messages are driven through random sequences of status changes: legal and illegal,
duplicated within a batch, provider reports out of order and after the end, retries with a
``not_before``, deferrals, claims, cancels and routing fallbacks; all through the real
services against the real database. A pure-Python model of SPEC §3 predicts every outcome,
and after every step the invariants below are checked against the database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import pytest
from django.conf import settings as django_settings
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from audit.models import AuditRecord
from audit.services import Actor
from hub.messaging import tasks
from hub.messaging.lifecycle import Change, IllegalTransition, messages_claim, messages_transition
from hub.messaging.models import (
    BlockReason,
    DailyRollup,
    DecisionRollup,
    EventKind,
    Message,
    MessageEvent,
    Notification,
    Routing,
)
from hub.messaging.models import MessageStatus as S
from hub.messaging.rollups import COUNTERS, SKIPPED_SENT, STATUS_COUNTERS, rollups_fold_accepted, sms_segments
from hub.messaging.routing import NotCancellable, notification_cancel
from templates_app.models import Template
from tests.audit.log import audit_log_sequenced_and_verified

ACTOR = Actor.system()
STATUSES = [s.value for s in S]
# SPEC §3, written out again here (not imported) so the model is independent of the code.
LEGAL: dict[str, set[str]] = {
    "accepted": {"queued", "deferred", "blocked", "cancelled", "failed"},
    "queued": {"sending", "deferred", "blocked", "cancelled", "failed"},
    "deferred": {"queued", "deferred", "blocked", "cancelled", "failed"},
    "sending": {"queued", "sent", "delivered", "undelivered", "bounced", "failed"},
    "sent": {"delivered", "undelivered", "bounced", "failed"},
}
FINAL = {"delivered", "undelivered", "bounced", "failed", "blocked", "cancelled"}
ENDED_BADLY = {"blocked", "failed", "undelivered", "bounced"}
NOT_YET_SENT = {"accepted", "queued", "deferred"}
PROVIDER_REPORTS = ["sent", "delivered", "undelivered", "bounced", "failed"]
TEXTS = ["Hi Ada, order A-1 is on its way.", "Grüße, € " * 30, "x" * 200]
TRACKED = ("status", "attempts", "block_reason", "error_code", "provider_message_id")


@dataclass
class Model:
    """What SPEC §3 says one message should look like."""

    notification: UUID
    channel: str
    status: str = "accepted"
    attempts: int = 0
    block_reason: str = ""
    error_code: str = ""
    provider_message_id: str = ""
    not_before: datetime | None = None
    status_events: int = 0  # accepted changes: one timeline event and one audit record each
    late_reports: int = 0  # reports after the end: one provider event and one audit record each
    accepted_events: int = 0  # a fallback message's timeline starts with "accepted"
    first_final: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in TRACKED)


@dataclass
class NotificationModel:
    channels: list[str]
    routing: str
    messages: list[UUID] = field(default_factory=list)
    cancelled: bool = False


changes_fields = st.fixed_dictionaries(
    {},
    optional={
        "error_code": st.sampled_from(["", "30003", "21211", "timeout"]),
        "provider_message_id": st.sampled_from(["SM1", "SM2"]),
    },
)


def fields_for(target: str, extra: dict[str, Any], *, later: bool, text: str) -> dict[str, Any]:
    """Fields a real caller would set when moving a message to ``target``."""
    now = timezone.now()
    fields = dict(extra)
    if target == "blocked":
        fields["block_reason"] = BlockReason.NO_CONSENT
    if target in {"deferred", "queued"}:
        # Far apart from now, so that "due" is never a matter of timing.
        fields["not_before"] = now + timedelta(hours=1) if later else now - timedelta(minutes=1)
    if target == "sent":
        fields.setdefault("provider_message_id", "SM0")
        fields["rendered"] = {"text": text}
    return fields


T = TypeVar("T")


def pick(data: st.DataObject, items: list[T], label: str) -> T:
    """One of ``items``, drawn with the same strategy whatever the list (hypothesis replays a
    case by its draws, so a strategy must not change with the machine's state)."""
    return items[data.draw(st.integers(min_value=0, max_value=255), label=label) % len(items)]


class LifecycleMachine(RuleBasedStateMachine):
    template: Template  # set by the test

    messages = Bundle("messages")
    notifications = Bundle("notifications")

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[UUID, Model] = {}
        self.notes: dict[UUID, NotificationModel] = {}
        # The database outlives one run of the machine: rollups are compared as increments.
        self.rollups_before = rollup_counts(self.template)

    # --- The model -------------------------------------------------------------------------
    def expect(self, changes: list[Change]) -> tuple[list[Change], list[Change], list[Change]]:
        """Applied, recorded-only and refused changes, in the order the model sees them."""
        applied, recorded, refused = [], [], []
        status = {c.message_id: self.models[c.message_id].status for c in changes}
        for change in changes:
            current = status[change.message_id]
            if current in FINAL:
                recorded.append(change)
            elif change.to in LEGAL[current]:
                applied.append(change)
                status[change.message_id] = change.to
            else:
                refused.append(change)
        return applied, recorded, refused

    def commit(self, applied: list[Change], recorded: list[Change]) -> None:
        for change in applied:
            model = self.models[change.message_id]
            model.status = change.to
            model.status_events += 1
            for name in ("attempts", "block_reason", "error_code", "provider_message_id", "not_before"):
                if name in change.fields:
                    setattr(model, name, change.fields[name])
            model.fields.update(change.fields)
            if change.to in FINAL and not model.first_final:
                model.first_final = change.to
        for change in recorded:
            self.models[change.message_id].late_reports += 1

    def transition(self, changes: list[Change], *, strict: bool = False) -> None:
        applied, recorded, refused = self.expect(changes)
        if strict and refused:
            with pytest.raises(IllegalTransition):
                messages_transition(changes, actor=ACTOR, source="machine", strict=True)
            return  # the whole batch is rolled back
        result = messages_transition(changes, actor=ACTOR, source="machine", strict=strict)
        assert (result.applied, result.recorded_only, result.refused, result.missing) == (
            applied,
            recorded,
            refused,
            [],
        )
        self.commit(applied, recorded)

    # --- Rules -----------------------------------------------------------------------------
    @rule(target=notifications, routing=st.sampled_from([Routing.FIRST, Routing.ALL]))
    def create_notification(self, routing: str) -> UUID:
        channels = ["sms", "email"]
        version = self.template.live_version
        assert version is not None
        notification = Notification.objects.create(
            template=self.template,
            template_version=version,
            to={"phone": "+447911123456", "email": "ada@example.com"},
            channels=channels,
            routing=routing,
        )
        first = channels if routing == Routing.ALL else channels[:1]
        created = Message.objects.bulk_create(
            Message(notification=notification, channel=c, category="transactional", to="x") for c in first
        )
        self.notes[notification.id] = NotificationModel(channels, routing, [m.id for m in created])
        for m in created:
            self.models[m.id] = Model(notification.id, m.channel)
        return notification.id

    @rule(target=messages, notification=notifications, index=st.integers(min_value=0, max_value=2))
    def pick_message(self, notification: UUID, index: int) -> UUID:
        messages = self.notes[notification].messages
        return messages[index % len(messages)]

    @rule(
        message=messages,
        target_status=st.sampled_from(STATUSES),
        extra=changes_fields,
        later=st.booleans(),
        text=st.sampled_from(TEXTS),
        strict=st.booleans(),
    )
    def move(
        self, message: UUID, target_status: str, extra: dict[str, Any], later: bool, text: str, strict: bool
    ) -> None:
        """Any status at all, legal or not, strict or lenient."""
        fields = fields_for(target_status, extra, later=later, text=text)
        self.transition([Change(message, target_status, fields)], strict=strict)

    def unfinished(self) -> list[UUID]:
        # In the order they were made: sorting by id would let two ids of one millisecond (whose
        # low bits are random) change places between runs, and hypothesis needs every run of a
        # case to draw the same way.
        return [mid for mid, m in self.models.items() if m.status not in FINAL]

    @precondition(lambda self: self.unfinished())
    @rule(data=st.data(), steps=st.integers(min_value=1, max_value=4))
    def advance(self, data: st.DataObject, steps: int) -> None:
        """Moves the lifecycle allows, one after another, for a message not yet final (so that
        long paths are reached); late reports once it is."""
        message = pick(data, self.unfinished(), "message")
        for _ in range(steps):
            status = self.models[message].status
            legal = sorted(LEGAL.get(status, PROVIDER_REPORTS))
            onwards = [t for t in legal if t not in FINAL]
            # Mostly onwards, so that sending, sent and the provider's reports are reached.
            end_here = data.draw(st.integers(min_value=0, max_value=3), label="end") == 0
            if onwards and not end_here:
                legal = onwards
            target = pick(data, legal, "to")
            extra = data.draw(changes_fields, label="fields")
            later = data.draw(st.booleans(), label="later")
            text = data.draw(st.sampled_from(TEXTS), label="text")
            self.transition([Change(message, target, fields_for(target, extra, later=later, text=text))])

    @rule(message=messages, data=st.data(), strict=st.booleans())
    def illegal(self, message: UUID, data: st.DataObject, strict: bool) -> None:
        """A move the lifecycle forbids from where the message is (refused, or only recorded)."""
        status = self.models[message].status
        target = pick(data, [s for s in STATUSES if s not in LEGAL.get(status, set())], "to")
        fields = fields_for(target, {"error_code": "illegal"}, later=False, text=TEXTS[0])
        self.transition([Change(message, target, fields)], strict=strict)

    @rule(
        batch=st.lists(
            st.tuples(st.sampled_from(STATUSES), st.sampled_from(TEXTS), st.booleans()),
            min_size=1,
            max_size=4,
        ),
        message=messages,
        other=messages,
        duplicate=st.booleans(),
    )
    def move_batch(
        self, batch: list[tuple[str, str, bool]], message: UUID, other: UUID, duplicate: bool
    ) -> None:
        """Several changes in one call, for one or two messages, possibly each sent twice."""
        changes = [
            Change(message if i % 2 == 0 else other, to, fields_for(to, {}, later=later, text=text))
            for i, (to, text, later) in enumerate(batch)
        ]
        if duplicate:
            changes = [c for change in changes for c in (change, change)]
        self.transition(changes)

    @rule(message=messages, reports=st.lists(st.sampled_from(PROVIDER_REPORTS), min_size=1, max_size=4))
    def provider_reports(self, message: UUID, reports: list[str]) -> None:
        """Provider callbacks in any order, repeated, one transaction each (as webhooks are)."""
        for report in reports:
            fields = fields_for(report, {}, later=False, text=TEXTS[0])
            self.transition([Change(message, report, fields, detail={"provider_status": report})])

    @rule(message=messages, times=st.integers(min_value=1, max_value=2))
    def claim(self, message: UUID, times: int) -> None:
        """The dispatcher's claim: queued and due → sending, once, however often it is asked."""
        for _ in range(times):
            model = self.models[message]
            now = timezone.now()
            due = model.not_before is None or model.not_before <= now
            expected = [message] if model.status == "queued" and due else []
            assert messages_claim([message], actor=ACTOR) == expected
            if expected:
                change = Change(message, "sending", {"attempts": model.attempts + 1})
                self.commit([change], [])

    @rule(message=messages, later=st.booleans(), code=st.sampled_from(["30001", "timeout"]))
    def retry(self, message: UUID, later: bool, code: str) -> None:
        """A transient provider error: back to queued with a backoff, as outcomes does."""
        fields = fields_for("queued", {"error_code": code}, later=later, text="")
        self.transition([Change(message, "queued", fields)])

    @rule(notification=notifications, really=st.integers(min_value=0, max_value=3))
    def cancel(self, notification: UUID, really: int) -> None:
        """The caller cancels the notification (drawn rarely: it ends every pending message)."""
        if really:
            return
        note = self.notes[notification]
        pending = [m for m in note.messages if self.models[m].status in NOT_YET_SENT]
        if not pending:
            with pytest.raises(NotCancellable):
                notification_cancel(notification=Notification.objects.get(id=notification), actor=ACTOR)
            return
        cancelled = notification_cancel(notification=Notification.objects.get(id=notification), actor=ACTOR)
        assert sorted(cancelled) == sorted(pending)
        self.commit([Change(m, "cancelled") for m in pending], [])
        note.cancelled = True

    @rule(message=messages, times=st.integers(min_value=1, max_value=2))
    def fall_back(self, message: UUID, times: int) -> None:
        """The task the lifecycle hook schedules when a message ends badly; redelivered too."""
        model = self.models[message]
        if model.status not in ENDED_BADLY:
            return  # the hook only schedules it for these
        note = self.notes[model.notification]
        for _ in range(times):
            expect_new = (
                note.routing == Routing.FIRST
                and not note.cancelled
                and note.messages[-1] == message
                and len(note.messages) < len(note.channels)
            )
            created = tasks.fall_back([str(message)])
            assert created == (1 if expect_new else 0)
            if expect_new:
                new = Message.objects.filter(notification_id=model.notification).latest("created_at", "id")
                channel = note.channels[len(note.messages)]
                assert new.channel == channel
                # The compliance rules decide it (a transactional email to a valid address: queued).
                assert new.status == "queued", new.decision
                self.models[new.id] = Model(
                    model.notification, channel, status="queued", status_events=1, accepted_events=1
                )
                note.messages.append(new.id)

    # --- Invariants ------------------------------------------------------------------------
    @invariant()
    def status_and_fields_equal_the_model(self) -> None:
        rows = Message.objects.filter(id__in=list(self.models)).values_list("id", *TRACKED)
        actual = {row[0]: row[1:] for row in rows}
        assert actual == {mid: m.values() for mid, m in self.models.items()}

    @invariant()
    def final_status_never_changes(self) -> None:
        for model in self.models.values():
            if model.first_final:
                assert model.status == model.first_final

    @invariant()
    def one_timeline_event_and_audit_record_per_change(self) -> None:
        ids = list(self.models)
        events = Counter(MessageEvent.objects.filter(message_id__in=ids).values_list("message_id", "kind"))
        audit = Counter(
            AuditRecord.objects.filter(object_type="message", object_id__in=[str(i) for i in ids])
            .exclude(action="message.accepted")
            .values_list("object_id", "action")
        )
        for mid, model in self.models.items():
            assert events[(mid, EventKind.STATUS)] == model.status_events + model.accepted_events, mid
            assert audit[(str(mid), "message.status_changed")] == model.status_events, mid
            assert events[(mid, EventKind.PROVIDER)] == model.late_reports, mid
            assert audit[(str(mid), "message.late_report")] == model.late_reports, mid

    @invariant()
    def audit_log_verifies(self) -> None:
        report = audit_log_sequenced_and_verified()
        assert report.ok, report

    @invariant()
    def rollups_equal_a_recount(self) -> None:
        now = rollup_counts(self.template)
        increments = {k: now[k] - self.rollups_before[k] for k in now}
        expected = recount(list(self.models))
        assert nonzero(increments) == nonzero(expected)


def nonzero(counts: dict[Any, Any]) -> dict[Any, Any]:
    return {k: v for k, v in counts.items() if v}


def rollup_counts(template: Template) -> Counter[Any]:
    """The template's daily counters summed over days, and the decision counts by reason
    (the intake's "accepted" counts folded in first, as beat and every report fold them)."""
    rollups_fold_accepted()
    daily = DailyRollup.objects.filter(template=template).aggregate(
        **{name: Sum(name) for name in (*COUNTERS, "cost")}
    )
    counts: Counter[Any] = Counter({k: v or 0 for k, v in daily.items()})
    for outcome, reason, total in DecisionRollup.objects.values_list("outcome", "reason").annotate(
        total=Sum("count")
    ):
        counts[(outcome, reason)] += total
    return counts


def recount(ids: list[UUID]) -> dict[Any, Any]:
    """What these messages added to the rollups, counted again from them and their timelines."""
    counts: Counter[Any] = Counter()
    segments = 0
    messages = Message.objects.filter(id__in=ids).only("id", "channel", "status", "rendered")
    history: dict[UUID, list[str]] = {}
    for mid, status in MessageEvent.objects.filter(message__in=messages, kind=EventKind.STATUS).values_list(
        "message_id", "status"
    ):
        history.setdefault(mid, []).append(status)
    for message in messages:
        path = history.get(message.id, [])
        for previous, status in zip(["accepted", *path], path, strict=False):
            if previous == "accepted" and status != "accepted":
                counts["accepted"] += 1  # leaving "accepted" (decided or cancelled) counts it once
            if status == "deferred" and previous != "deferred":
                counts["deferred"] += 1
            if status in STATUS_COUNTERS:
                counts[STATUS_COUNTERS[status]] += 1
            if previous == "sending" and status in SKIPPED_SENT:
                counts["sent"] += 1
            if status == "sent" and message.channel == "sms":
                segments += sms_segments(str(message.rendered.get("text", "")))
        assert all(s == message.status for s in path[-1:])
    for status, detail in MessageEvent.objects.filter(
        message__in=messages, kind=EventKind.STATUS, status__in=["blocked", "deferred"]
    ).values_list("status", "detail"):
        counts[(status, str(detail.get("block_reason") or detail.get("decided_by") or "scheduled"))] += 1
    per_segment = Decimal(str(getattr(django_settings, "HUB_SMS_COST_PER_SEGMENT", "0")))
    counts["segments"] = segments
    return {**counts, "cost": per_segment * segments}


@pytest.mark.django_db
def test_lifecycle_state_machine(live_template):
    LifecycleMachine.template = live_template
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
