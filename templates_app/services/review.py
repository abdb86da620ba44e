"""Maker-checker review of template versions: approve (or re-approve, to roll back) and reject.

Every step is one transaction with its audit record, so a decision and its record commit
together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.models import ActorType, AuditRecord
from audit.services import Actor, audit_append
from templates_app.models import Template, TemplateApproval, TemplateVersion, VersionStatus
from templates_app.services.workflow import TemplateWorkflowError

# The steps that make someone a maker of a version: each is audited in the step's own
# transaction, so the audit trail is a complete list of who wrote, edited or submitted it.
MAKER_ACTIONS = ("template.version_created", "template.version_edited", "template.version_submitted")


def audited_makers(
    *, object_type: str, object_id: object, actions: Sequence[str], author_id: int | None
) -> set[int]:
    """Ids of the users whose audited ``actions`` on the object (and its author) make them its
    makers. Shared with journey versions, reviewed the same way."""
    actor_ids = AuditRecord.objects.filter(
        object_type=object_type,
        object_id=str(object_id),
        action__in=actions,
        actor_type=ActorType.USER,
    ).values_list("actor_id", flat=True)
    makers = {int(actor_id) for actor_id in actor_ids if actor_id.isdigit()}
    if author_id is not None:
        makers.add(author_id)
    return makers


def version_makers(version: TemplateVersion) -> set[int]:
    """Ids of the users who wrote, edited or submitted ``version`` (none of them may review it)."""
    return audited_makers(
        object_type="template_version",
        object_id=version.pk,
        actions=MAKER_ACTIONS,
        author_id=version.author_id,
    )


def review_refusal(*, author_id: int | None, makers: set[int], reviewer: User) -> str:
    """Why ``reviewer`` may not review a version (maker-checker), or "" if they may."""
    if author_id is None:
        # Nobody answers for the content (an import without --user, a system step): a
        # reviewer would be both maker and checker. A named author must write a new draft.
        return "This version has no author, so nobody can review it; make a new draft from it."
    if reviewer.pk in makers:
        return "You cannot review a version you wrote, edited or submitted; ask a colleague."
    return ""


def submit_note(*, object_type: str, object_id: object, action: str) -> str:
    """The note the author left for the reviewer when submitting (their audited comment)."""
    record = (
        AuditRecord.objects.filter(object_type=object_type, object_id=str(object_id), action=action)
        .order_by("-created_at", "-seq")
        .first()
    )
    return str((record.payload or {}).get("comment", "")) if record else ""


def review_mark(locked: Any, *, status: str, reviewer: User, comment: str) -> None:
    """Record a review decision on a locked version (a template's or a journey's)."""
    locked.status = status
    locked.reviewed_by_id = reviewer.pk
    locked.reviewed_at = timezone.now()
    locked.review_comment = comment
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])


def _review_lock(version: TemplateVersion, reviewer: User) -> TemplateVersion:
    locked = (
        TemplateVersion.objects.select_for_update(of=("self",)).select_related("template").get(pk=version.pk)
    )
    if refusal := review_refusal(
        author_id=locked.author_id, makers=version_makers(locked), reviewer=reviewer
    ):
        raise TemplateWorkflowError(refusal)
    return locked


def template_version_approve(
    *, version: TemplateVersion, approver: User, comment: str = ""
) -> TemplateApproval:
    """Make a submitted version live, or an older approved one live again (rollback).

    Nobody who wrote, edited or submitted the version may approve it, whatever permissions
    they hold, and a version with no author cannot be approved at all. The template's
    previous live version stays approved but is no longer live.
    """
    with transaction.atomic():
        locked = _review_lock(version, approver)
        if locked.status not in (VersionStatus.IN_REVIEW, VersionStatus.APPROVED):
            raise TemplateWorkflowError(
                f"Only a submitted version can be approved; this one is {locked.status}."
            )
        template = Template.objects.select_for_update().get(pk=locked.template_id)
        previous = template.live_version_id
        review_mark(locked, status=VersionStatus.APPROVED, reviewer=approver, comment=comment)
        approval = TemplateApproval.objects.create(version=locked, approved_by=approver, comment=comment)
        template.live_version = locked
        template.save(update_fields=["live_version"])
        audit_append(
            actor=Actor.user(approver.pk),
            action="template.version_approved",
            object_type="template_version",
            object_id=version.pk,
            payload={
                "template": template.key,
                "number": locked.number,
                "approval": approval.pk,
                "previous_live_version": previous,
                "comment": comment,
            },
        )
    version.refresh_from_db()
    return approval


def template_version_reject(*, version: TemplateVersion, reviewer: User, comment: str) -> None:
    """Send a submitted version back with a reason (required); the author edits a new draft."""
    if not comment.strip():
        raise TemplateWorkflowError("Say why the version is rejected, so the author can fix it.")
    with transaction.atomic():
        locked = _review_lock(version, reviewer)
        if locked.status != VersionStatus.IN_REVIEW:
            raise TemplateWorkflowError(
                f"Only a version in review can be rejected; this one is {locked.status}."
            )
        review_mark(locked, status=VersionStatus.REJECTED, reviewer=reviewer, comment=comment)
        audit_append(
            actor=Actor.user(reviewer.pk),
            action="template.version_rejected",
            object_type="template_version",
            object_id=version.pk,
            payload={"template": locked.template.key, "number": locked.number, "comment": comment},
        )
    version.refresh_from_db()
