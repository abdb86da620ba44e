"""Celery tasks: thin wrappers that parse their arguments and call the dispatch services."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from celery import shared_task

from hub.messaging import dispatch, rollups, routing
from hub.messaging.outcomes import DispatchReport
from hub.messaging.reports import provider_reports_apply, report_from_json


@shared_task(name="hub.messaging.tasks.send_messages")
def send_messages(message_ids: list[str]) -> dict[str, int]:
    return _counts(dispatch.messages_dispatch(message_ids=[UUID(i) for i in message_ids]))


@shared_task(name="hub.messaging.tasks.drain_lane")
def drain_lane(channel: str, lane: str) -> dict[str, int]:
    return _counts(dispatch.lane_drain(channel=channel, lane=lane))


def _counts(report: DispatchReport) -> dict[str, int]:
    return {
        "claimed": report.claimed,
        "sent": report.sent,
        "retrying": report.retrying,
        "failed": report.failed,
    }


@shared_task(name="hub.messaging.tasks.record_sandbox_delivery")
def record_sandbox_delivery(message_ids: list[str]) -> int:
    return dispatch.messages_record_sandbox_delivery(message_ids=[UUID(i) for i in message_ids])


@shared_task(name="hub.messaging.tasks.release_due_messages")
def release_due_messages() -> int:
    return dispatch.messages_release_due()


@shared_task(name="hub.messaging.tasks.sweep_stuck_messages")
def sweep_stuck_messages() -> list[int]:
    return list(dispatch.messages_sweep_stuck())


@shared_task(name="hub.messaging.tasks.apply_provider_reports")
def apply_provider_reports(provider: str, reports: list[dict[str, Any]]) -> int:
    outcome = provider_reports_apply(provider=provider, reports=[report_from_json(r) for r in reports])
    return outcome.applied


@shared_task(name="hub.messaging.tasks.fall_back")
def fall_back(message_ids: list[str]) -> int:
    report = routing.notifications_fall_back(
        message_ids=[UUID(i) for i in message_ids], reason="previous_channel_ended"
    )
    return len(report.created)


@shared_task(name="hub.messaging.tasks.fall_back_overdue")
def fall_back_overdue() -> int:
    return routing.messages_fall_back_overdue()


@shared_task(name="hub.messaging.tasks.fold_accepted_counts")
def fold_accepted_counts() -> int:
    return rollups.rollups_fold_accepted()
