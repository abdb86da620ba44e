"""Maker-checker review of versions: approve (or re-approve, to roll back) and reject. One\ngeneric pair (``version_approve``, ``version_reject``) serves template versions here and\njourney versions in the hub (``hub.journeys.services.versions``).

Every step is one transaction with its audit record, so a decision and its record commit
together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import ActorType, AuditRecord
from audit.services import Actor, audit_append
from templates_app.models import TemplateApproval, TemplateVersion, VersionStatus
from templates_app.services.review_mail import emails_of, review_notify, reviewers_of
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


@dataclass(frozen=True)
class Reviewed:
    """A kind of versioned, maker-checked thing (template versions; journey versions in the
    hub): what the one approve and reject below need to know of it."""

    version_model: Any  # the version model (TemplateVersion, JourneyVersion)
    parent_field: str  # its parent's field ("template", "journey"); the parent has key, live_version
    approval_model: Any  # TemplateApproval, JourneyApproval
    object_type: str  # the audit object type ("template_version")
    prefix: str  # the audit actions' prefix ("template" → "template.version_approved")
    maker_actions: tuple[str, ...]
    error: type[Exception]
    permission: str = "templates_app.approve_templateversion"  # who reviews (and is told)
    review_url: str = "admin:templates_app_templateversion_review"  # where a reviewer decides
    page_url: str = "admin:templates_app_templateversion_change"  # where an author reads it


def _label(kind: Reviewed, version: Any) -> str:
    return f"{getattr(version, kind.parent_field).key} v{version.number}"


def review_notice_submitted(kind: Reviewed, *, version: Any, note: str) -> None:
    """Tell the reviewers (not the version's makers) that a version waits for them, by email
    through Switchboard itself once the submission commits."""
    makers = audited_makers(
        object_type=kind.object_type,
        object_id=version.pk,
        actions=kind.maker_actions,
        author_id=version.author_id,
    )
    label = _label(kind, version)
    review_notify(
        emails=reviewers_of(permission=kind.permission, makers=makers),
        subject=f"{label} is waiting for your review",
        message=f"{label} was submitted for approval." + (f" The author's note: “{note}”" if note else ""),
        path=reverse(kind.review_url, args=[version.pk]),
        reference=f"review:{kind.object_type}:{version.pk}:submitted",
    )


def _notice_decision(kind: Reviewed, locked: Any, *, decision: str, reviewer: User, comment: str) -> None:
    makers = audited_makers(
        object_type=kind.object_type,
        object_id=locked.pk,
        actions=kind.maker_actions,
        author_id=locked.author_id,
    )
    label = _label(kind, locked)
    said = f" Their comment: “{comment}”" if comment else ""
    review_notify(
        emails=emails_of(makers - {reviewer.pk}),
        subject=f"{label} was {decision}",
        message=f"{label} was {decision} by {reviewer.get_username()}.{said}",
        path=reverse(kind.page_url, args=[locked.pk]),
        reference=f"review:{kind.object_type}:{locked.pk}:{decision}",
    )


def _review_lock(kind: Reviewed, version: Any, reviewer: User) -> Any:
    locked = (
        kind.version_model.objects.select_for_update(of=("self",))
        .select_related(kind.parent_field)
        .get(pk=version.pk)
    )
    makers = audited_makers(
        object_type=kind.object_type,
        object_id=locked.pk,
        actions=kind.maker_actions,
        author_id=locked.author_id,
    )
    if refusal := review_refusal(author_id=locked.author_id, makers=makers, reviewer=reviewer):
        raise kind.error(refusal)
    return locked


def version_approve(kind: Reviewed, *, version: Any, approver: User, comment: str = "") -> Any:
    """Make a submitted version live, or an older approved one live again (rollback); returns
    the approval. Nobody who wrote, edited or submitted the version may approve it, whatever
    permissions they hold, and a version with no author cannot be approved at all. The
    previous live version stays approved but is no longer live. One transaction with its
    audit record."""
    with transaction.atomic():
        locked = _review_lock(kind, version, approver)
        if locked.status not in (VersionStatus.IN_REVIEW, VersionStatus.APPROVED):
            raise kind.error(f"Only a submitted version can be approved; this one is {locked.status}.")
        parent_model = type(getattr(locked, kind.parent_field))
        parent = parent_model.objects.select_for_update().get(pk=getattr(locked, f"{kind.parent_field}_id"))
        previous = parent.live_version_id
        review_mark(locked, status=VersionStatus.APPROVED, reviewer=approver, comment=comment)
        approval = kind.approval_model.objects.create(version=locked, approved_by=approver, comment=comment)
        parent.live_version = locked
        parent.save(update_fields=["live_version"])
        audit_append(
            actor=Actor.user(approver.pk),
            action=f"{kind.prefix}.version_approved",
            object_type=kind.object_type,
            object_id=version.pk,
            payload={
                kind.prefix: parent.key,
                "number": locked.number,
                "approval": approval.pk,
                "previous_live_version": previous,
                "comment": comment,
            },
        )
        _notice_decision(kind, locked, decision="approved", reviewer=approver, comment=comment)
    version.refresh_from_db()
    return approval


def version_reject(kind: Reviewed, *, version: Any, reviewer: User, comment: str) -> None:
    """Send a submitted version back with a reason (required); the author edits a new draft."""
    if not comment.strip():
        raise kind.error("Say why the version is rejected, so the author can fix it.")
    with transaction.atomic():
        locked = _review_lock(kind, version, reviewer)
        if locked.status != VersionStatus.IN_REVIEW:
            raise kind.error(f"Only a version in review can be rejected; this one is {locked.status}.")
        review_mark(locked, status=VersionStatus.REJECTED, reviewer=reviewer, comment=comment)
        audit_append(
            actor=Actor.user(reviewer.pk),
            action=f"{kind.prefix}.version_rejected",
            object_type=kind.object_type,
            object_id=version.pk,
            payload={
                kind.prefix: getattr(locked, kind.parent_field).key,
                "number": locked.number,
                "comment": comment,
            },
        )
        _notice_decision(kind, locked, decision="rejected", reviewer=reviewer, comment=comment)
    version.refresh_from_db()


TEMPLATE_VERSIONS = Reviewed(
    version_model=TemplateVersion,
    parent_field="template",
    approval_model=TemplateApproval,
    object_type="template_version",
    prefix="template",
    maker_actions=MAKER_ACTIONS,
    error=TemplateWorkflowError,
)


def template_version_approve(
    *, version: TemplateVersion, approver: User, comment: str = ""
) -> TemplateApproval:
    """Approve a template version (see ``version_approve``)."""
    approval: TemplateApproval = version_approve(
        TEMPLATE_VERSIONS, version=version, approver=approver, comment=comment
    )
    return approval


def template_version_reject(*, version: TemplateVersion, reviewer: User, comment: str) -> None:
    """Reject a template version with a reason (see ``version_reject``)."""
    version_reject(TEMPLATE_VERSIONS, version=version, reviewer=reviewer, comment=comment)
