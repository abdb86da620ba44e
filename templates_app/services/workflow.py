"""Template lifecycle: drafts, edits and lint-gated submission (review is in ``review``).

Every step is one transaction with its audit record (who, when, comment), so a step and
its record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from templates_app.lint import Finding, has_errors, version_lint
from templates_app.models import (
    EmailLayout,
    Template,
    TemplateVariable,
    TemplateVariant,
    TemplateVersion,
    VersionStatus,
)
from templates_app.rendering.core import layout_as_dict
from templates_app.rendering.validation import version_variables

VARIANT_FIELDS = ("channel", "locale", "subject", "preheader", "html", "text", "title", "link", "data")
VARIABLE_FIELDS = ("name", "type", "required", "example", "description")


class TemplateWorkflowError(Exception):
    """A workflow step that is not allowed (e.g. approving your own version)."""


class TemplateLintFailed(TemplateWorkflowError):
    """Submission refused: the lint found errors (``findings`` holds all of them)."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        errors = [f.message for f in findings if f.severity == "error"]
        super().__init__("Fix these before submitting: " + " ".join(errors))


def _actor(user: User | None) -> Actor:
    return Actor.user(user.pk) if user is not None else Actor.system()


def template_create(
    *,
    key: str,
    name: str,
    category: str,
    actor: Actor,
    description: str = "",
    default_locale: str = "en",
    **measurement: Any,
) -> Template:
    """A new template with no versions yet (validated like the admin form); audited.
    ``measurement``: its measurement fields (``tracking``, ``goal_event``, ``attribution_days``)."""
    unknown = set(measurement) - {"tracking", "goal_event", "attribution_days"}
    if unknown:
        raise TypeError(f"template_create() got unexpected fields {sorted(unknown)}")
    template = Template(
        key=key,
        name=name,
        category=category,
        description=description,
        default_locale=default_locale,
        **measurement,
    )
    template.full_clean()
    with transaction.atomic():
        template.save()
        audit_append(
            actor=actor,
            action="template.created",
            object_type="template",
            object_id=template.pk,
            payload={"key": key, "category": category},
        )
    return template


def template_update(*, template: Template, actor: Actor, changed: Sequence[str]) -> None:
    """Save edited details (name, description, category, default locale); audited."""
    template.full_clean(exclude=["live_version"])
    with transaction.atomic():
        template.save()
        audit_append(
            actor=actor,
            action="template.changed",
            object_type="template",
            object_id=template.pk,
            payload={"key": template.key, "changed": list(changed), "category": template.category},
        )


def template_draft_create(
    *,
    template: Template,
    author: User | None,
    variants: Iterable[Mapping[str, Any]],
    variables: Iterable[Mapping[str, Any]] = (),
    layout: EmailLayout | None = None,
    comment: str = "",
) -> TemplateVersion:
    """A new draft version (numbered after the last one) holding these variants and variables."""
    with transaction.atomic():
        # Lock the template so two concurrent drafts can't take the same number.
        Template.objects.select_for_update().filter(pk=template.pk).first()
        last = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = TemplateVersion.objects.create(
            template=template, number=last + 1, author=author, layout=layout
        )
        TemplateVariant.objects.bulk_create(TemplateVariant(version=version, **v) for v in variants)
        TemplateVariable.objects.bulk_create(TemplateVariable(version=version, **v) for v in variables)
        audit_append(
            actor=_actor(author),
            action="template.version_created",
            object_type="template_version",
            object_id=version.pk,
            payload={"template": template.key, "number": version.number, "comment": comment},
        )
    return version


def version_content(version: TemplateVersion) -> dict[str, Any]:
    """A version's content as plain data (variants, variables, layout name)."""
    return {
        "layout": version.layout.name if version.layout else None,
        "variables": [
            {f: getattr(v, f) for f in VARIABLE_FIELDS} for v in version.variables.order_by("name")
        ],
        "variants": [
            {f: getattr(v, f) for f in VARIANT_FIELDS} for v in version.variants.order_by("channel", "locale")
        ],
    }


def template_draft_from(
    *, version: TemplateVersion, author: User | None, comment: str = ""
) -> TemplateVersion:
    """Edit a submitted version: a new draft with a copy of its content (the original stays frozen)."""
    content = version_content(version)
    return template_draft_create(
        template=version.template,
        author=author,
        variants=content["variants"],
        variables=content["variables"],
        layout=version.layout,
        comment=comment or f"Copied from v{version.number}",
    )


def template_draft_edited(
    *, version: TemplateVersion, actor: Actor, comment: str = "", changed: Sequence[str] = ()
) -> None:
    """Record an edit of a draft (call inside the transaction that saved it). Raises
    TemplateWorkflowError if the version is no longer a draft, rolling the edit back."""
    with transaction.atomic():
        locked = TemplateVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise TemplateWorkflowError(
                "This version was submitted and can no longer change; make a new draft from it."
            )
        audit_append(
            actor=actor,
            action="template.version_edited",
            object_type="template_version",
            object_id=version.pk,
            payload={"template": locked.template.key, "comment": comment, "changed": list(changed)},
        )


def version_lint_run(version: TemplateVersion) -> list[Finding]:
    """The lint findings for a saved version as it stands."""
    return version_lint(
        category=version.template.category,
        variants=list(version.variants.all()),
        specs=version_variables(version),
        layout=layout_as_dict(version.layout),
        tracked=version.template.tracks_links,
    )


def template_version_submit(*, version: TemplateVersion, actor: Actor, comment: str = "") -> list[Finding]:
    """Freeze a draft and put it in the approval queue; returns the lint findings (warnings).

    Raises TemplateLintFailed (nothing changes) if the lint finds errors. The layout is
    frozen into the version so that later layout edits never alter approved content.
    """
    with transaction.atomic():
        locked = (
            TemplateVersion.objects.select_for_update(of=("self",))
            .select_related("template", "layout")
            .get(pk=version.pk)
        )
        if locked.status != VersionStatus.DRAFT:
            raise TemplateWorkflowError(f"Only a draft can be submitted; this one is {locked.status}.")
        findings = version_lint_run(locked)
        if has_errors(findings):
            raise TemplateLintFailed(findings)
        locked.status = VersionStatus.IN_REVIEW
        locked.submitted_at = timezone.now()
        locked.lint = [f.as_dict() for f in findings]
        locked.layout_snapshot = layout_as_dict(locked.layout)
        locked.save(update_fields=["status", "submitted_at", "lint", "layout_snapshot"])
        audit_append(
            actor=actor,
            action="template.version_submitted",
            object_type="template_version",
            object_id=version.pk,
            payload={
                "template": locked.template.key,
                "number": locked.number,
                "comment": comment,
                "warnings": sum(1 for f in findings if f.severity == "warning"),
            },
        )
        from templates_app.services.review import TEMPLATE_VERSIONS, review_notice_submitted

        review_notice_submitted(TEMPLATE_VERSIONS, version=locked, note=comment)  # on commit
    version.refresh_from_db()
    return findings
