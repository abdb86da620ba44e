"""Reading journey runs, always within what one API key may see."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch

from hub.apikeys.models import ApiKey
from hub.journeys.models import JourneyRun, JourneyRunEntry


def journey_run_get(*, run_id: UUID, api_key: ApiKey) -> JourneyRun | None:
    """The run and its timeline, if an event sent with this key started it."""
    return (
        JourneyRun.objects.filter(id=run_id, api_key=api_key)
        .select_related("journey", "version", "contact")
        .prefetch_related(Prefetch("timeline", queryset=JourneyRunEntry.objects.order_by("at", "id")))
        .first()
    )
