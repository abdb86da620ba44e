"""What providers tell us after the hand-off (delivery reports, bounces, opens, complaints),
already normalised by a webhook into ``ProviderReport`` rows, applied in one transaction.

Status changes go through ``messages_transition`` (so a late or repeated report never moves
a message out of a final state); engagement is kept as ``engagement`` events on the
timeline; reports that carry no status are ``provider`` events. Each report has an event
id: one already processed is skipped, so a replayed webhook changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor, AuditEntry, audit_append_many
from hub.contacts.models import Contact
from hub.contacts.services import consent_record, suppression_add
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import EventKind, Message, MessageEvent
from hub.providers.models import WebhookEvent

REPORTS_PER_TASK = 500


@dataclass(frozen=True)
class ProviderReport:
    """One provider event in our words.

    ``status``: the status it moves the message to (a ``MessageStatus``), or empty.
    ``engagement``: opened, clicked, unsubscribed or complained, or empty.
    ``suppress``: a ``SuppressionReason`` to write for the message's address, or empty.
    ``withdraw_consent``: a ``ConsentSource`` under which the contact's consent for the
    message's channel (marketing) is withdrawn, or empty.
    """

    event_id: str
    vendor_event: str
    message_id: UUID | None = None
    provider_message_id: str = ""
    status: str = ""
    engagement: str = ""
    suppress: str = ""
    withdraw_consent: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


def report_to_json(report: ProviderReport) -> dict[str, Any]:
    """A report as the ``events`` queue carries it (JSON)."""
    return {
        **{k: getattr(report, k) for k in ("event_id", "vendor_event", "provider_message_id", "status")},
        **{k: getattr(report, k) for k in ("engagement", "suppress", "withdraw_consent")},
        "message_id": str(report.message_id) if report.message_id else None,
        "detail": dict(report.detail),
        "occurred_at": report.occurred_at.isoformat() if report.occurred_at else None,
    }


def report_from_json(data: Mapping[str, Any]) -> ProviderReport:
    return ProviderReport(
        **{k: data[k] for k in ("event_id", "vendor_event", "provider_message_id", "status")},
        **{k: data[k] for k in ("engagement", "suppress", "withdraw_consent")},
        message_id=UUID(data["message_id"]) if data.get("message_id") else None,
        detail=data.get("detail") or {},
        occurred_at=datetime.fromisoformat(data["occurred_at"]) if data.get("occurred_at") else None,
    )


def provider_reports_enqueue(*, provider: str, reports: Sequence[ProviderReport]) -> None:
    """Hand reports to the ``events`` queue, so a webhook answers at once whatever the batch
    size; applying them is idempotent (event ids), so a redelivered task changes nothing."""
    from hub.messaging.tasks import apply_provider_reports

    for start in range(0, len(reports), REPORTS_PER_TASK):
        chunk = [report_to_json(r) for r in reports[start : start + REPORTS_PER_TASK]]
        # Reports may quote an address (a bounce's reason): logs and monitors show a count.
        # celery-types lists no argsrepr, which Celery passes on to the task message.
        apply_provider_reports.apply_async(
            (provider, chunk),
            argsrepr=repr((provider, f"<{len(chunk)} reports>")),  # type: ignore[call-arg]
        )


@dataclass
class ReportsOutcome:
    applied: int = 0
    duplicates: int = 0
    unmatched: int = 0


def provider_reports_apply(*, provider: str, reports: Sequence[ProviderReport]) -> ReportsOutcome:
    """Apply reports once each; unknown messages are counted and skipped (never an error)."""
    outcome = ReportsOutcome()
    actor = Actor.provider(provider)
    with transaction.atomic():
        seen = set(
            WebhookEvent.objects.filter(
                provider=provider, event_id__in=[r.event_id for r in reports]
            ).values_list("event_id", flat=True)
        )
        fresh: list[ProviderReport] = []
        for report in reports:
            if report.event_id in seen:
                outcome.duplicates += 1
                continue
            seen.add(report.event_id)
            fresh.append(report)
        messages = _messages_for(fresh)
        changes: list[Change] = []
        events: list[MessageEvent] = []
        audits: list[AuditEntry] = []
        processed: list[str] = []
        now = timezone.now()
        for report in fresh:
            message = messages.get(report.message_id) if report.message_id else None
            message = message or messages.get(report.provider_message_id)
            if message is None:
                outcome.unmatched += 1
                continue
            outcome.applied += 1
            processed.append(report.event_id)
            detail = {"event": report.vendor_event, **report.detail}
            if report.status:
                changes.append(Change(message.id, report.status, detail=detail))
            else:
                kind = EventKind.ENGAGEMENT if report.engagement else EventKind.PROVIDER
                events.append(
                    MessageEvent(
                        message=message,
                        kind=kind,
                        status=report.engagement,
                        detail=detail,
                        source=provider,
                        occurred_at=report.occurred_at or now,
                    )
                )
                audits.append(
                    AuditEntry(
                        actor,
                        f"message.{kind}",
                        "message",
                        str(message.id),
                        {"event": report.vendor_event, "engagement": report.engagement},
                    )
                )
            _consequences(report, message, actor)
        # Only events about a known message count as processed: one that arrived before its
        # message was recorded may still apply when the provider sends it again. A concurrent
        # replay fails here on the unique key and rolls back; its retry finds it processed.
        WebhookEvent.objects.bulk_create(WebhookEvent(provider=provider, event_id=e) for e in processed)
        messages_transition(changes, actor=actor, source=provider)
        MessageEvent.objects.bulk_create(events)
        audit_append_many(audits)
    return outcome


def _messages_for(reports: Sequence[ProviderReport]) -> dict[Any, Message]:
    ids = {r.message_id for r in reports if r.message_id}
    sids = {r.provider_message_id for r in reports if r.provider_message_id and not r.message_id}
    if not ids and not sids:
        return {}
    rows = Message.objects.filter(Q(id__in=ids) | Q(provider_message_id__in=sids)).select_related(
        "notification"
    )
    found: dict[Any, Message] = {}
    for message in rows:
        found[message.id] = message
        if message.provider_message_id in sids:
            found[message.provider_message_id] = message
    return found


def _consequences(report: ProviderReport, message: Message, actor: Actor) -> None:
    detail = {"message": str(message.id), "event": report.vendor_event}
    if report.suppress and message.to:
        suppression_add(
            channel=message.channel, address=message.to, reason=report.suppress, actor=actor, detail=detail
        )
    contact_id = message.notification.contact_id
    if report.withdraw_consent and contact_id is not None:
        consent_record(
            contact=Contact.objects.get(pk=contact_id),
            channel=message.channel,
            purpose="marketing",
            granted=False,
            source=report.withdraw_consent,
            actor=actor,
            evidence=detail,
        )
