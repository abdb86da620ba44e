"""Template lifecycle: drafts, submission and maker-checker approval, each audited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from templates_app.models import (
    Template,
    TemplateApproval,
    TemplateVariant,
    TemplateVersion,
    VersionStatus,
)


class TemplateWorkflowError(Exception):
    """A workflow step that is not allowed (e.g. approving your own version)."""


def template_draft_create(
    *, template: Template, author: User | None, variants: Iterable[Mapping[str, str]]
) -> TemplateVersion:
    """A new draft version holding the given channel/locale variants."""
    with transaction.atomic():
        last = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = TemplateVersion.objects.create(template=template, number=last + 1, author=author)
        TemplateVariant.objects.bulk_create(TemplateVariant(version=version, **v) for v in variants)
        audit_append(
            actor=Actor.user(author.pk) if author else Actor.system(),
            action="template.version_created",
            object_type="template_version",
            object_id=version.pk,
            payload={"template": template.key, "number": version.number},
        )
    return version


def template_version_submit(*, version: TemplateVersion, actor: Actor, comment: str = "") -> None:
    """Freeze a draft and put it in the approval queue."""
    with transaction.atomic():
        locked = TemplateVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise TemplateWorkflowError(f"Only a draft can be submitted; this one is {locked.status}.")
        locked.status = VersionStatus.IN_REVIEW
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["status", "submitted_at"])
        audit_append(
            actor=actor,
            action="template.version_submitted",
            object_type="template_version",
            object_id=version.pk,
            payload={"comment": comment},
        )
    version.refresh_from_db()


def template_version_approve(
    *, version: TemplateVersion, approver: User, comment: str = ""
) -> TemplateApproval:
    """Make a submitted (or previously approved) version live. The author may never approve it."""
    with transaction.atomic():
        locked = TemplateVersion.objects.select_for_update().get(pk=version.pk)
        if locked.author_id is not None and locked.author_id == approver.pk:
            raise TemplateWorkflowError("You cannot approve a version you wrote; ask a colleague.")
        if locked.status not in (VersionStatus.IN_REVIEW, VersionStatus.APPROVED):
            raise TemplateWorkflowError(
                f"Only a submitted version can be approved; this one is {locked.status}."
            )
        locked.status = VersionStatus.APPROVED
        locked.save(update_fields=["status"])
        approval = TemplateApproval.objects.create(version=locked, approved_by=approver, comment=comment)
        Template.objects.filter(pk=locked.template_id).update(live_version=locked)
        audit_append(
            actor=Actor.user(approver.pk),
            action="template.version_approved",
            object_type="template_version",
            object_id=version.pk,
            payload={"approval": approval.pk, "comment": comment},
        )
    version.refresh_from_db()
    return approval
