"""Which version of a template a send pins: its live version and that version's latest
approval, looked up by template key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from templates_app.models import Template, TemplateApproval, TemplateVersion


@dataclass(frozen=True)
class LiveTemplate:
    """A template as a send pins it; ``version`` is None while it has no approved version."""

    template: Template
    version: TemplateVersion | None
    approval_id: int | None


def live_templates(keys: Iterable[str]) -> dict[str, LiveTemplate]:
    """The templates with these keys (unknown keys are absent), each with its live version and
    the id of that version's latest approval, in one query."""
    wanted = set(keys)
    if not wanted:
        return {}
    latest_approval = (
        TemplateApproval.objects.filter(version=OuterRef("live_version"))
        .order_by("-approved_at")
        .values("pk")[:1]
    )
    templates = (
        Template.objects.select_related("live_version")
        .annotate(approval_id=Subquery(latest_approval))
        .filter(key__in=wanted)
    )
    return {t.key: LiveTemplate(t, t.live_version, t.approval_id) for t in templates}
