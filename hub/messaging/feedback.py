"""One feedback path: what a provider answers when it is handed a message, and what it (or the
recipient, or the hub's own pages) reports about the message later, become the same
:class:`Outcome`, applied by one function, :func:`outcomes_apply`.

Vendors' codes never get here: each vendor's module (``hub.providers.<vendor>`` for its
send-time errors, ``hub.webhooks.<vendor>`` for its reports) translates them into an Outcome.
This module knows no vendor; it knows what an outcome means for the message (its status, via
``messages_transition``), for the address (a suppression), for the person (a consent-ledger
entry), for a push device (removed), for the reports (engagement counted) and for the operator
(an alert about a misconfigured provider).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db import models
from django.utils import timezone

from audit.rows import rows_insert
from audit.services import Actor, AuditEntry, audit_append, audit_append_many
from hub.contacts.models import ConsentSource, Contact, Device
from hub.contacts.services import consent_record, suppression_add
from hub.messaging.addressing import device_id_of
from hub.messaging.lifecycle import EVENT_COLUMNS, Change, TransitionResult, messages_transition
from hub.messaging.models import EventKind, Message, MessageEvent
from hub.messaging.rollups import rollups_record_engagement

logger = logging.getLogger("hub.feedback")


class ErrorClass(models.TextChoices):
    """What kind of failure an outcome reports ("" for none)."""

    NONE = "", "None"
    RETRYABLE = "retryable", "Retryable (the provider may take it later)"
    PERMANENT = "permanent", "Permanent (this message can never succeed)"
    CONFIGURATION = "configuration", "Our configuration (an operator must act)"
    UNEXPECTED = "unexpected", "Unexpected (the outcome is unknown)"


@dataclass(frozen=True)
class Misconfigured:
    """A provider that refused our credentials or settings on the way (an operator alert)."""

    provider: str
    code: str
    http_status: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one message, in the hub's words.

    ``message_id``: ours; a webhook that only knows the vendor's id sets
    ``provider_message_id`` and ``provider_reports_apply`` finds the message.
    ``status``: the ``MessageStatus`` it moves to ("" for none); ``fields``: what that
    transition sets besides the status (the provider's id, the retry time...).
    ``error_code``: the vendor's code, kept; ``error_class``: an :class:`ErrorClass`;
    ``permanent``: no retry can succeed.
    ``suppress``: a ``SuppressionReason`` for the message's address ("" for none).
    ``opt_out``: the person said stop (marketing consent withdrawn, source "provider").
    ``complaint``: the person reported the message as spam (withdrawn, source "complaint").
    ``bounce``: the address bounced for good (withdrawn, source "bounce").
    ``device_gone``: the push token or subscription is gone; the device is removed.
    ``engagement``: opened, clicked, unsubscribed or complained ("" for none): an engagement
    event on the timeline, counted in the reports.
    ``detail``: what goes on the timeline (no personal data).
    """

    message_id: UUID | None = None
    provider_message_id: str = ""
    status: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    error_code: str = ""
    error_class: str = ErrorClass.NONE
    permanent: bool = False
    suppress: str = ""
    opt_out: bool = False
    complaint: bool = False
    bounce: bool = False
    device_gone: bool = False
    engagement: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    misconfigured: tuple[Misconfigured, ...] = ()

    @property
    def change(self) -> Change | None:
        """The status change this outcome asks for, if any."""
        if not self.status or self.message_id is None:
            return None
        error = {"error_code": self.error_code[:32]} if self.error_code else {}
        return Change(self.message_id, self.status, {**error, **self.fields}, detail=self.detail)

    @property
    def consent_source(self) -> str:
        """Under which ``ConsentSource`` the person's marketing consent is withdrawn, or ""."""
        if self.complaint:
            return ConsentSource.COMPLAINT
        if self.bounce:
            return ConsentSource.BOUNCE
        return ConsentSource.PROVIDER if self.opt_out else ""


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    """An outcome as a queue carries it (JSON). ``fields`` must already be JSON."""
    data: dict[str, Any] = {f.name: getattr(outcome, f.name) for f in fields(Outcome)}
    data["message_id"] = str(outcome.message_id) if outcome.message_id else None
    data["fields"], data["detail"] = dict(outcome.fields), dict(outcome.detail)
    data["occurred_at"] = outcome.occurred_at.isoformat() if outcome.occurred_at else None
    data["misconfigured"] = [[m.provider, m.code, m.http_status] for m in outcome.misconfigured]
    return data


def outcome_from_json(data: Mapping[str, Any]) -> Outcome:
    values = {f.name: data[f.name] for f in fields(Outcome) if f.name in data}
    values["message_id"] = UUID(data["message_id"]) if data.get("message_id") else None
    values["occurred_at"] = datetime.fromisoformat(data["occurred_at"]) if data.get("occurred_at") else None
    values["misconfigured"] = tuple(Misconfigured(*m) for m in data.get("misconfigured") or ())
    return Outcome(**values)


def outcomes_apply(
    outcomes: Sequence[Outcome],
    *,
    actor: Actor,
    source: str,
    also: Sequence[Change] = (),
) -> TransitionResult:
    """Apply outcomes about known messages (``message_id`` set), in the caller's transaction.

    In order: every status change (the outcomes' and ``also``: the batch's changes that are
    no provider's answer, such as a message that could not be rendered) in one
    ``messages_transition``, so a late report never moves a final message and the status
    effects run once; a timeline event for each engagement and each outcome that changes no
    status (a plain provider report); engagement counted in the rollups; then for each
    outcome its consequences (suppression, consent withdrawal, device removal), whatever the
    status did; then one alert per misconfigured provider. Suppressions and removed devices
    are idempotent; consent entries are appended (the ledger keeps every report).
    """
    if any(o.message_id is None for o in outcomes):
        raise ValueError("outcomes_apply needs each outcome's message_id")
    changes = [*also, *(c for o in outcomes if (c := o.change) is not None)]
    result = messages_transition(changes, actor=actor, source=source)
    _events_record([o for o in outcomes if o.engagement or not o.status], actor=actor, source=source)
    _consequences_apply(outcomes, actor=actor, source=source)
    _alert_misconfigured(outcomes, actor=actor)
    return result


def _events_record(outcomes: Sequence[Outcome], *, actor: Actor, source: str) -> None:
    if not outcomes:
        return
    now = timezone.now()
    events: list[MessageEvent] = []
    audits: list[AuditEntry] = []
    # Counted on the day the engagement happened (UTC), as a rebuild from the timeline counts it.
    engaged: dict[date, list[tuple[UUID, str]]] = defaultdict(list)
    day_at: dict[date, datetime] = {}
    for outcome in outcomes:
        assert outcome.message_id is not None  # noqa: S101 - checked by outcomes_apply
        kind = EventKind.ENGAGEMENT if outcome.engagement else EventKind.PROVIDER
        at = outcome.occurred_at or now
        events.append(
            MessageEvent(
                message_id=outcome.message_id,
                kind=kind,
                status=outcome.engagement,
                detail=dict(outcome.detail),
                source=source,
                occurred_at=at,
            )
        )
        audits.append(
            AuditEntry(
                actor,
                f"message.{kind}",
                "message",
                str(outcome.message_id),
                {"event": outcome.detail.get("event", ""), "engagement": outcome.engagement},
            )
        )
        if outcome.engagement:
            engaged[at.date()].append((outcome.message_id, outcome.engagement))
            day_at.setdefault(at.date(), at)
    # One statement however many (bulk_create splits them on SQLite).
    rows_insert(MessageEvent, EVENT_COLUMNS, ([getattr(e, c) for c in EVENT_COLUMNS] for e in events))
    audit_append_many(audits)
    for day, pairs in sorted(engaged.items()):
        rollups_record_engagement(events=pairs, at=day_at[day])


def _needs_consequences(outcome: Outcome) -> bool:
    return bool(outcome.suppress or outcome.consent_source or outcome.device_gone)


def _consequences_apply(outcomes: Sequence[Outcome], *, actor: Actor, source: str) -> None:
    wanted = [o for o in outcomes if _needs_consequences(o)]
    if not wanted:
        return
    rows = Message.objects.filter(id__in={o.message_id for o in wanted}).values_list(
        "id", "channel", "to", "notification__contact_id"
    )
    messages = {mid: (channel, to, contact_id) for mid, channel, to, contact_id in rows}
    now = timezone.now()
    for outcome in wanted:
        if outcome.message_id not in messages:
            continue
        channel, to, contact_id = messages[outcome.message_id]
        detail = {"message": str(outcome.message_id), "source": source, **_evidence(outcome)}
        if outcome.suppress and to:
            suppression_add(channel=channel, address=to, reason=outcome.suppress, actor=actor, detail=detail)
        if outcome.consent_source and contact_id is not None:
            consent_record(
                contact=Contact.objects.get(pk=contact_id),
                channel=channel,
                purpose="marketing",
                granted=False,
                source=outcome.consent_source,
                actor=actor,
                evidence=detail,
            )
        if outcome.device_gone and channel == "push":
            _device_remove(to, actor=actor, detail=detail, now=now)


def _evidence(outcome: Outcome) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    if provider := outcome.fields.get("provider"):
        evidence["provider"] = provider
    if event := outcome.detail.get("event"):
        evidence["event"] = event
    if outcome.error_code:
        evidence["code"] = outcome.error_code
    return evidence


def _device_remove(address: str, *, actor: Actor, detail: Mapping[str, Any], now: datetime) -> None:
    device_id = device_id_of(address)
    devices = Device.objects.filter(removed_at__isnull=True)
    devices = devices.filter(pk=device_id) if device_id is not None else devices.filter(token=address)
    for pk in list(devices.values_list("pk", flat=True)):
        Device.objects.filter(pk=pk).update(removed_at=now)
        audit_append(actor=actor, action="device.removed", object_type="device", object_id=pk, payload=detail)


def _alert_misconfigured(outcomes: Sequence[Outcome], *, actor: Actor) -> None:
    """One audited operator alert per misconfigured provider per call."""
    seen: dict[str, Misconfigured] = {}
    for outcome in outcomes:
        for found in outcome.misconfigured:
            seen.setdefault(found.provider, found)
    for name, found in seen.items():
        logger.error("ALERT provider=%s is misconfigured (code %s): an operator must act", name, found.code)
        audit_append(
            actor=actor,
            action="provider.misconfigured",
            object_type="provider",
            object_id=name,
            payload={"code": found.code, "http_status": found.http_status},
        )


def outcomes_with_message(outcome: Outcome, message_id: UUID, **detail: Any) -> Outcome:
    """The outcome about this message, with ``detail`` added to what it puts on the timeline."""
    return replace(outcome, message_id=message_id, detail={**detail, **outcome.detail})
