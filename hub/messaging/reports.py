"""Reports about a message after its hand-off, from outside the dispatch: the providers'
webhooks (delivery reports, bounces, opens, complaints), push display receipts, the hub's own
one-click unsubscribe. Each arrives as a ``ProviderReport``: an event id and the feedback
path's ``Outcome``, already in our words (the vendor's module translated its codes).

``provider_reports_apply`` skips an event already processed (so a replayed webhook changes
nothing), finds each report's message (ours, or by the provider's id), and hands the outcomes
to ``hub.messaging.feedback.outcomes_apply``, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor
from hub.messaging.feedback import (
    Outcome,
    outcome_from_json,
    outcome_to_json,
    outcomes_apply,
    outcomes_with_message,
)
from hub.messaging.models import Message
from hub.providers.models import WebhookEvent

REPORTS_PER_TASK = 500


@dataclass(frozen=True)
class ProviderReport:
    """One event about a message: its id at the source (for replays), the source's name for
    it, and what it means."""

    event_id: str
    vendor_event: str
    outcome: Outcome


def report_to_json(report: ProviderReport) -> dict[str, Any]:
    """A report as the ``events`` queue carries it (JSON)."""
    return {
        "event_id": report.event_id,
        "vendor_event": report.vendor_event,
        "outcome": outcome_to_json(report.outcome),
    }


def report_from_json(data: Mapping[str, Any]) -> ProviderReport:
    return ProviderReport(data["event_id"], data["vendor_event"], outcome_from_json(data["outcome"]))


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


def provider_reports_apply(
    *, provider: str, reports: Sequence[ProviderReport], actor: Actor | None = None
) -> ReportsOutcome:
    """Apply reports once each; unknown messages are counted and skipped (never an error).
    ``actor`` defaults to the provider."""
    outcome = ReportsOutcome()
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
        outcomes: list[Outcome] = []
        processed: list[str] = []
        for report in fresh:
            found = report.outcome
            message = messages.get(found.message_id) if found.message_id else None
            message = message or messages.get(found.provider_message_id)
            if message is None:
                outcome.unmatched += 1
                continue
            outcome.applied += 1
            processed.append(report.event_id)
            outcomes.append(outcomes_with_message(found, message.id, event=report.vendor_event))
        # Only events about a known message count as processed: one that arrived before its
        # message was recorded may still apply when the provider sends it again. A concurrent
        # replay fails here on the unique key and rolls back; its retry finds it processed.
        WebhookEvent.objects.bulk_create(WebhookEvent(provider=provider, event_id=e) for e in processed)
        outcomes_apply(outcomes, actor=actor or Actor.provider(provider), source=provider)
    return outcome


# The source of the hub's own unsubscribe links' reports (``/u/{token}``).
UNSUBSCRIBE_SOURCE = "unsubscribe"
SMS_STOP_SOURCE = "sms_keyword"


def message_unsubscribed_record(*, message_id: str) -> ReportsOutcome:
    """The person used the unsubscribe link of this message (one click, or the page's confirm
    button): an ``unsubscribed`` engagement on it, counted in its template's report once per
    message. The consent change itself is the caller's (``hub.contacts.preferences``). A link
    naming no message, or one since erased, records nothing."""
    try:
        found = UUID(message_id)
    except ValueError:
        return ReportsOutcome()
    report = ProviderReport(
        event_id=f"unsubscribe:{found}",
        vendor_event="unsubscribe_link",
        outcome=Outcome(message_id=found, engagement="unsubscribed"),
    )
    return provider_reports_apply(provider=UNSUBSCRIBE_SOURCE, reports=[report], actor=Actor.system())


# How long after an SMS a STOP reply is still taken as the answer to it.
SMS_STOP_ATTRIBUTION = timedelta(days=30)


def sms_stop_unsubscribed_record(*, phone: str, inbound_id: object) -> ReportsOutcome:
    """An opt-out keyword (STOP) from ``phone``: an ``unsubscribed`` engagement on the latest SMS
    handed to that number within ``SMS_STOP_ATTRIBUTION``, so the template's report counts it
    like an email unsubscribe. Once per inbound message; nothing when no SMS was sent there."""
    last = (
        Message.objects.filter(
            channel="sms",
            to=phone,
            status__in=("sent", "delivered", "undelivered"),
            status_changed_at__gte=timezone.now() - SMS_STOP_ATTRIBUTION,
        )
        .order_by("-status_changed_at")
        .values_list("id", flat=True)
        .first()
    )
    if last is None:
        return ReportsOutcome()
    report = ProviderReport(
        event_id=f"sms-stop:{inbound_id}",
        vendor_event="sms_opt_out",
        outcome=Outcome(message_id=last, engagement="unsubscribed"),
    )
    return provider_reports_apply(provider=SMS_STOP_SOURCE, reports=[report], actor=Actor.system())


def _messages_for(reports: Sequence[ProviderReport]) -> dict[Any, Message]:
    ids = {r.outcome.message_id for r in reports if r.outcome.message_id}
    sids = {
        r.outcome.provider_message_id
        for r in reports
        if r.outcome.provider_message_id and not r.outcome.message_id
    }
    if not ids and not sids:
        return {}
    rows = Message.objects.filter(Q(id__in=ids) | Q(provider_message_id__in=sids)).only(
        "id", "provider_message_id"
    )
    found: dict[Any, Message] = {}
    for message in rows:
        found[message.id] = message
        if message.provider_message_id in sids:
            found[message.provider_message_id] = message
    return found
