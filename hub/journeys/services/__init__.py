"""Journey services (writes). Import from here; the submodules are an implementation detail."""

from hub.journeys.services.transfer import journey_approve_submitted, journeys_export, journeys_push
from hub.journeys.services.versions import (
    JourneyWorkflowError,
    journey_create,
    journey_draft_create,
    journey_draft_edit,
    journey_version_approve,
    journey_version_makers,
    journey_version_reject,
    journey_version_submit,
)

__all__ = [
    "JourneyWorkflowError",
    "journey_approve_submitted",
    "journey_create",
    "journey_draft_create",
    "journey_draft_edit",
    "journey_version_approve",
    "journey_version_makers",
    "journey_version_reject",
    "journey_version_submit",
    "journeys_export",
    "journeys_push",
]
