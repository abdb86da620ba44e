"""Journey versions: drafts, edits, submission and maker-checker review (as templates have).

draft → in_review (frozen) → approved (live) or rejected. Rollback is approving an older
approved version again. Nobody who wrote, edited or submitted a version may review it, and a
version with no author cannot be reviewed at all. Every step is one transaction with its
audit record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.journeys.definition import definition_validate
from hub.journeys.models import Journey, JourneyApproval, JourneyVersion
from templates_app.models import VersionStatus
from templates_app.services.review import (
    Reviewed,
    audited_makers,
    review_notice_submitted,
    version_approve,
    version_reject,
)

OBJECT_TYPE = "journey_version"
# The steps that make someone a maker of a version (each audited in its own transaction).
MAKER_ACTIONS = ("journey.version_created", "journey.version_edited", "journey.version_submitted")


class JourneyWorkflowError(Exception):
    """A workflow step that is not allowed (e.g. approving your own version)."""


def _actor(user: User | None) -> Actor:
    return Actor.user(user.pk) if user is not None else Actor.system()


def _audit_step(actor: Actor, action: str, version: JourneyVersion, comment: str, **changes: Any) -> None:
    """The record of a maker's step (the review reads these to know who made a version);
    ``changes`` adds what changed (an edit's definition before and after)."""
    audit_append(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=version.pk,
        payload={"journey": version.journey.key, "number": version.number, "comment": comment, **changes},
    )


def journey_create(*, key: str, name: str, actor: Actor, description: str = "") -> Journey:
    """A new journey with no versions yet; audited."""
    journey = Journey(key=key, name=name, description=description)
    journey.full_clean(exclude=["live_version"])
    with transaction.atomic():
        journey.save()
        audit_append(
            actor=actor,
            action="journey.created",
            object_type="journey",
            object_id=journey.pk,
            payload={"key": key},
        )
    return journey


def journey_draft_create(
    *, journey: Journey, author: User | None, definition: Mapping[str, Any], comment: str = ""
) -> JourneyVersion:
    """A new draft version (numbered after the last one). Raises InvalidDefinition (and writes
    nothing) if the definition has any problem, or JourneyWorkflowError if its key is not the
    journey's."""
    definition_validate(definition)
    if definition["key"] != journey.key:
        raise JourneyWorkflowError(
            f"The definition's key '{definition['key']}' is not this journey's ('{journey.key}')."
        )
    with transaction.atomic():
        Journey.objects.select_for_update().filter(pk=journey.pk).first()  # one number per draft
        last = journey.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = JourneyVersion.objects.create(
            journey=journey,
            number=last + 1,
            author=author,
            definition=dict(definition),
            trigger_event=definition["trigger"]["event"],
            goal_event=definition.get("goal", {}).get("event", ""),
        )
        _audit_step(
            _actor(author), "journey.version_created", version, comment, definition=version.definition
        )
    return version


def journey_draft_edit(
    *, version: JourneyVersion, actor: Actor, definition: Mapping[str, Any], comment: str = ""
) -> None:
    """Replace a draft's definition (validated as on create); refused once it was submitted."""
    definition_validate(definition)
    with transaction.atomic():
        locked = (
            JourneyVersion.objects.select_for_update(of=("self",))
            .select_related("journey")
            .get(pk=version.pk)
        )
        if locked.status != VersionStatus.DRAFT:
            raise JourneyWorkflowError(
                "This version was submitted and can no longer change; make a new draft from it."
            )
        if definition["key"] != locked.journey.key:
            raise JourneyWorkflowError(f"The definition's key '{definition['key']}' is not this journey's.")
        before = locked.definition
        locked.definition = dict(definition)
        locked.trigger_event = definition["trigger"]["event"]
        locked.goal_event = definition.get("goal", {}).get("event", "")
        locked.save(update_fields=["definition", "trigger_event", "goal_event"])
        _audit_step(actor, "journey.version_edited", locked, comment, before=before, after=locked.definition)
    version.refresh_from_db()


def journey_version_submit(*, version: JourneyVersion, actor: Actor, comment: str = "") -> None:
    """Freeze a draft and put it in the approval queue (checked once more as it stands)."""
    with transaction.atomic():
        locked = (
            JourneyVersion.objects.select_for_update(of=("self",))
            .select_related("journey")
            .get(pk=version.pk)
        )
        if locked.status != VersionStatus.DRAFT:
            raise JourneyWorkflowError(f"Only a draft can be submitted; this one is {locked.status}.")
        definition_validate(locked.definition)  # a template may have gone since it was saved
        locked.status = VersionStatus.IN_REVIEW
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["status", "submitted_at"])
        _audit_step(actor, "journey.version_submitted", locked, comment)
        review_notice_submitted(JOURNEY_VERSIONS, version=locked, note=comment)  # on commit
    version.refresh_from_db()


def journey_version_makers(version: JourneyVersion) -> set[int]:
    """Ids of the users who wrote, edited or submitted ``version`` (none of them may review it)."""
    return audited_makers(
        object_type=OBJECT_TYPE, object_id=version.pk, actions=MAKER_ACTIONS, author_id=version.author_id
    )


JOURNEY_VERSIONS = Reviewed(
    version_model=JourneyVersion,
    parent_field="journey",
    approval_model=JourneyApproval,
    object_type=OBJECT_TYPE,
    prefix="journey",
    maker_actions=MAKER_ACTIONS,
    error=JourneyWorkflowError,
    permission="journeys.approve_journeyversion",
    review_url="admin:journeys_journeyversion_change",
    page_url="admin:journeys_journeyversion_change",
)


def journey_version_approve(*, version: JourneyVersion, approver: User, comment: str = "") -> JourneyApproval:
    """Make a submitted version live, or an older approved one live again (rollback), through
    the templates' one review (``templates_app.services.review.version_approve``).

    Runs already started keep the version they pinned; new entries use this one."""
    approval: JourneyApproval = version_approve(
        JOURNEY_VERSIONS, version=version, approver=approver, comment=comment
    )
    return approval


def journey_version_reject(*, version: JourneyVersion, reviewer: User, comment: str) -> None:
    """Send a submitted version back with a reason (required)."""
    version_reject(JOURNEY_VERSIONS, version=version, reviewer=reviewer, comment=comment)
