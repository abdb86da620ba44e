"""Reading journey runs, always within what one API key may see."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Prefetch

from hub.apikeys.models import ApiKey
from hub.journeys.models import JourneyRun, JourneyRunEntry, JourneyRunMessage
from hub.messaging.models import Message


def journey_run_messages(run: JourneyRun) -> list[dict[str, Any]]:
    """The messages the run's send steps made, each with its status now."""
    links = list(JourneyRunMessage.objects.filter(run=run).order_by("id"))
    statuses = dict(
        Message.objects.filter(id__in=[link.message_id for link in links]).values_list("id", "status")
    )
    return [
        {
            "step": link.step,
            "notification": link.notification_id,
            "message": link.message_id,
            "status": statuses.get(link.message_id, ""),
        }
        for link in links
    ]


def journey_run_get(*, run_id: UUID, api_key: ApiKey) -> JourneyRun | None:
    """The run and its timeline, if an event sent with this key started it."""
    return (
        JourneyRun.objects.filter(id=run_id, api_key=api_key)
        .select_related("journey", "version", "contact")
        .prefetch_related(Prefetch("timeline", queryset=JourneyRunEntry.objects.order_by("at", "id")))
        .first()
    )
