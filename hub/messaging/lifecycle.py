"""The one place a message's status changes.

Every change is checked against the lifecycle of SPEC §3, applied with the row locked,
written to the message's timeline and to the audit trail in the same transaction. A
late or repeated report about a message in a final state is kept on the timeline as an
event and changes nothing else.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from audit.rows import instance_made, rows_insert
from audit.services import Actor, AuditEntry, audit_append_rows
from hub.messaging.bulk import messages_bulk_set
from hub.messaging.effects import AppliedChanges, effects_run
from hub.messaging.models import EventKind, Message, MessageEvent
from hub.messaging.models import MessageStatus as S

TRANSITIONS: Mapping[str, frozenset[str]] = {
    S.ACCEPTED: frozenset({S.QUEUED, S.DEFERRED, S.BLOCKED, S.CANCELLED, S.FAILED}),
    S.QUEUED: frozenset({S.SENDING, S.DEFERRED, S.BLOCKED, S.CANCELLED, S.FAILED}),
    # Deferred again when a re-decision at its due time finds a later one (e.g. quiet hours).
    S.DEFERRED: frozenset({S.QUEUED, S.DEFERRED, S.BLOCKED, S.CANCELLED, S.FAILED}),
    # A retry puts a message back in the queue; a fast provider may report before "sent".
    S.SENDING: frozenset({S.QUEUED, S.SENT, S.DELIVERED, S.UNDELIVERED, S.BOUNCED, S.FAILED}),
    S.SENT: frozenset({S.DELIVERED, S.UNDELIVERED, S.BOUNCED, S.FAILED}),
}
FINAL_STATUSES = frozenset({S.DELIVERED, S.UNDELIVERED, S.BOUNCED, S.FAILED, S.BLOCKED, S.CANCELLED})
# Fields a transition may set besides the status. Anything else is refused.
TRANSITION_FIELDS = frozenset(
    {
        "block_reason",
        "not_before",
        "attempts",
        "provider",
        "provider_message_id",
        "error_code",
        "error_message",
        "needs_reconciliation",
        "rendered",
        "decision",
        "decided_by",
    }
)
# Fields whose values are personal data and so never copied into the audit payload.
_PRIVATE_FIELDS = frozenset({"rendered", "error_message"})


class IllegalTransition(Exception):
    """A status change that the lifecycle does not allow."""


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


@dataclass(frozen=True)
class Change:
    """Move one message to ``to``, setting ``fields``; ``detail`` goes on the timeline."""

    message_id: UUID
    to: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TransitionResult:
    applied: list[Change] = field(default_factory=list)
    # Messages written by this transition (``new``) and their initial status, with the
    # ``detail`` of their initial timeline event: their rows and events precede the changes'.
    created: list[tuple[UUID, str]] = field(default_factory=list)
    created_detail: Mapping[str, Any] = field(default_factory=dict)
    # Reports about messages already final: recorded on the timeline only.
    recorded_only: list[Change] = field(default_factory=list)
    refused: list[Change] = field(default_factory=list)
    missing: list[Change] = field(default_factory=list)
    # What was written: the rows' ``status_changed_at`` and the events' ``occurred_at``.
    changed_at: datetime | None = None
    occurred_at: datetime | None = None

    @property
    def applied_ids(self) -> list[UUID]:
        return [c.message_id for c in self.applied]


def messages_transition(
    changes: Sequence[Change],
    *,
    actor: Actor,
    source: str,
    strict: bool = False,
    occurred_at: datetime | None = None,
    audit_before: Sequence[AuditEntry] = (),
    held: Mapping[UUID, str] | None = None,
    acceptance_counted: Collection[UUID] = (),
    new: Sequence[Message] = (),
    new_detail: Mapping[str, Any] | None = None,
) -> TransitionResult:
    """Apply changes that the lifecycle allows; report the others.

    With ``strict`` an illegal change (from a non-final status) raises IllegalTransition and
    nothing is applied. Changes for messages already final are recorded as events only.

    ``audit_before``: records of the same transaction that precede these changes in the trail
    (a notification's acceptance before its decisions). They go in the one append this makes,
    so the caller does not take the chain head's lock early and hold it through the changes.

    ``held``: the statuses of rows the caller's transaction already holds (it has just inserted
    them); they are not selected and locked again.

    ``acceptance_counted``: messages whose acceptance the caller has counted itself (the
    intake's ``AcceptedPending`` rows); the rollups effect does not count it again.

    ``new``: messages just made and not yet written, in their initial status (the intake's
    ``accepted``). This writes them, each with its initial timeline event (``new_detail``), and
    those the changes move already in their new status: one ``INSERT`` of the rows, one of all
    the events, where an ``INSERT`` then an ``UPDATE`` made the same rows. Their instances are
    left as written (``_as_transitioned``). The records, events and effects of their
    changes are those of any transition.
    """
    for change in changes:
        unknown = set(change.fields) - TRANSITION_FIELDS
        if unknown:
            raise ValueError(f"A transition may not set {sorted(unknown)}")
    result = TransitionResult()
    if new:
        result.created = [(m.id, m.status) for m in new]
        result.created_detail = dict(new_detail or {})
    if not changes and not new:
        if audit_before:
            audit_append_rows(audit_before)
        return result
    now = timezone.now()
    result.changed_at, result.occurred_at = now, occurred_at or now
    illegal = ""
    # No savepoint: a failure here fails the caller's whole transaction, as it must (a status
    # change never commits without its timeline and audit record). A strict refusal, which a
    # caller may catch and go on from, is raised after the block, having written nothing.
    with transaction.atomic(savepoint=False):
        current = dict(held) if held is not None else {}
        current.update((m.id, m.status) for m in new)
        if unread := {c.message_id for c in changes} - set(current):
            current.update(
                Message.objects.select_for_update().filter(id__in=unread).values_list("id", "status")
            )
        previous: dict[int, str] = {}
        for change in changes:
            status = current.get(change.message_id)
            if status is None:
                result.missing.append(change)
            elif status in FINAL_STATUSES:
                # setdefault: the same Change given twice keeps the status it was applied from.
                previous.setdefault(id(change), status)
                result.recorded_only.append(change)
            elif can_transition(status, change.to):
                previous.setdefault(id(change), status)
                result.applied.append(change)
                current[change.message_id] = change.to  # a later change in the batch sees this
            elif strict:
                illegal = f"A message cannot go from {status} to {change.to}."
                break
            else:
                result.refused.append(change)
        if not illegal:
            _set_rows(result, now=now, new=new)
            _record(
                result,
                previous,
                now=now,
                occurred_at=occurred_at or now,
                actor=actor,
                source=source,
                audit_before=audit_before,
                acceptance_counted=frozenset(acceptance_counted),
            )
    if illegal:
        raise IllegalTransition(illegal)
    return result


def _merged(result: TransitionResult) -> dict[UUID, dict[str, Any]]:
    """Each moved message's new field values. One message moved twice in a batch: its fields
    merge, the last change winning."""
    merged: dict[UUID, dict[str, Any]] = {}
    for change in result.applied:
        merged.setdefault(change.message_id, {}).update(change.fields, status=change.to)
    return merged


def _set_rows(result: TransitionResult, *, now: datetime, new: Sequence[Message] = ()) -> None:
    """Write the applied changes: ``new`` messages inserted as they end up, the others updated."""
    merged = _merged(result)
    if new:
        for message in new:  # auto_now_add, as a save would fill them
            message.created_at = message.created_at or now
            message.status_changed_at = message.status_changed_at or now
        _as_transitioned(new, merged, result.changed_at)
        rows_insert(Message, MESSAGE_COLUMNS, map(_message_row, new))
        for message in new:
            merged.pop(message.id, None)
            message._state.adding = False  # saved, as the ORM would mark it
            message._state.db = "default"
    if merged:
        messages_bulk_set({mid: {**values, "status_changed_at": now} for mid, values in merged.items()})


def _record(
    result: TransitionResult,
    previous: dict[int, str],
    *,
    now: datetime,
    occurred_at: datetime,
    actor: Actor,
    source: str,
    audit_before: Sequence[AuditEntry] = (),
    acceptance_counted: frozenset[UUID] = frozenset(),
) -> None:
    """What every change leaves besides the row: a timeline event, an audit record, and the
    registered effects' work (``hub.messaging.effects``: rollups, fallback routing, callbacks),
    all in the caller's transaction."""
    rows_insert(
        MessageEvent,
        EVENT_COLUMNS,
        [
            *_created_event_rows(result, source=source, occurred_at=occurred_at),
            *_status_event_rows(result.applied, source=source, occurred_at=occurred_at),
            *(
                (
                    c.message_id,
                    EventKind.PROVIDER,
                    c.to,
                    {**_public(c), "note": "reported after the message was final; status kept"},
                    source,
                    occurred_at,
                )
                for c in result.recorded_only
            ),
        ],
    )
    entries = [
        AuditEntry(
            actor,
            action,
            "message",
            str(c.message_id),
            {"from": previous[id(c)], "to": c.to, "source": source, **_public(c)},
        )
        for action, batch in (
            ("message.status_changed", result.applied),
            ("message.late_report", result.recorded_only),
        )
        for c in batch
    ]
    audit_append_rows([*audit_before, *entries])
    effects_run(
        AppliedChanges(
            changes=result.applied,
            previous=[previous[id(c)] for c in result.applied],
            source=source,
            changed_at=now,
            occurred_at=occurred_at,
            acceptance_counted=acceptance_counted,
        )
    )


EVENT_COLUMNS = ("message_id", "kind", "status", "detail", "source", "occurred_at")
# Every column of a message: ``new`` messages are written as their instances stand.
MESSAGE_COLUMNS = tuple(f.attname for f in Message._meta.concrete_fields)
_message_row = operator.attrgetter(*MESSAGE_COLUMNS)


def _created_event_rows(
    result: TransitionResult, *, source: str, occurred_at: datetime
) -> Iterator[tuple[Any, ...]]:
    """The initial timeline rows (``EVENT_COLUMNS``) of the messages this transition wrote."""
    return (
        (mid, EventKind.STATUS, status, dict(result.created_detail), source, occurred_at)
        for mid, status in result.created
    )


def _status_event_rows(
    applied: Iterable[Change], *, source: str, occurred_at: datetime
) -> Iterator[tuple[Any, ...]]:
    """The timeline rows (``EVENT_COLUMNS``) of applied changes."""
    return ((c.message_id, EventKind.STATUS, c.to, _public(c), source, occurred_at) for c in applied)


def transition_events(result: TransitionResult, *, source: str) -> list[MessageEvent]:
    """The status events ``messages_transition`` wrote (the initial events of the messages it
    wrote, then the applied changes'), as unsaved instances: to answer with what was written
    without reading it back."""
    if result.occurred_at is None:
        return []
    rows = [
        *_created_event_rows(result, source=source, occurred_at=result.occurred_at),
        *_status_event_rows(result.applied, source=source, occurred_at=result.occurred_at),
    ]
    return [instance_made(MessageEvent, **dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows]


def _as_transitioned(
    messages: Iterable[Message], merged: dict[UUID, dict[str, Any]], changed_at: datetime | None
) -> None:
    """Set on these instances what ``messages_transition`` wrote to their rows (``merged``),
    so they can be shown without reading them back."""
    if changed_at is None:
        return
    for message in messages:
        values = merged.get(message.id)
        if values is None:
            continue
        for name, value in values.items():
            setattr(message, name, value)
        message.status_changed_at = changed_at


def _public(change: Change) -> dict[str, Any]:
    """What of a change may be written to the timeline and the audit trail."""
    safe = {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in change.fields.items()
        if k not in _PRIVATE_FIELDS
    }
    return {**safe, **change.detail}


def messages_claim(message_ids: Iterable[UUID], *, actor: Actor) -> list[UUID]:
    """Claim queued, due messages for sending: queued → sending, attempts + 1.

    Rows another worker holds are skipped, and a message already claimed, sent or final
    is never claimed again: this is what keeps a redelivered task from a second hand-off.
    On PostgreSQL the claim is one conditional ``UPDATE … RETURNING`` for the whole batch;
    the timeline, audit and effects are written as for any transition, in the same transaction.
    """
    ids = list(message_ids)
    if not ids:
        return []
    now = timezone.now()
    if connection.vendor != "postgresql":
        return _claim_portable(ids, now=now, actor=actor)
    assert can_transition(S.QUEUED, S.SENDING)  # noqa: S101 - the lifecycle allows what this SQL does
    table = connection.ops.quote_name(Message._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        # The status is read as ``status || ''``, which no index holds: compared as it is, it let
        # the planner reach the messages by status (the status indexes, the partial index of the
        # queued), one step a queued message, wherever its statistics put few in the queue, which
        # they do after any quiet moment. The claim reads its messages by key whatever the
        # statistics (tests/hub/messaging/test_lifecycle.py; 606 ms → 0.2 ms a claim of 100 with
        # 20,000 queued on the bench's database).
        cursor.execute(
            f"UPDATE {table} AS m SET status = %s, attempts = m.attempts + 1, status_changed_at = %s "  # noqa: S608
            f"WHERE m.id IN (SELECT id FROM {table} WHERE id = ANY(%s) AND status || '' = %s "
            "AND (not_before IS NULL OR not_before <= %s) ORDER BY id FOR UPDATE SKIP LOCKED) "
            "AND m.status || '' = %s RETURNING m.id, m.attempts",
            [S.SENDING, now, ids, S.QUEUED, now, S.QUEUED],
        )
        result = TransitionResult(
            applied=[Change(mid, S.SENDING, {"attempts": attempts}) for mid, attempts in cursor.fetchall()]
        )
        previous: dict[int, str] = {id(c): S.QUEUED for c in result.applied}
        _record(result, previous, now=now, occurred_at=now, actor=actor, source="dispatch")
    return result.applied_ids


def _claim_portable(ids: list[UUID], *, now: datetime, actor: Actor) -> list[UUID]:
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(id__in=ids, status=S.QUEUED)
            .exclude(not_before__gt=now)
            .values_list("id", "attempts")
        )
        changes = [Change(mid, S.SENDING, {"attempts": attempts + 1}) for mid, attempts in rows]
        result = messages_transition(changes, actor=actor, source="dispatch")
    return result.applied_ids
