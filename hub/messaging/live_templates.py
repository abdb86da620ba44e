"""Which version of a template a send pins: its live version and that version's latest
approval, looked up by template key, and cached per process while the "templates" generation
holds (hub.generations): a saved template, version or approval bumps it, so a newly approved
version is sent from the next request on, in every process."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from hub.generations import GenerationCache, generation
from templates_app.models import Template, TemplateApproval, TemplateVersion

TEMPLATES_GENERATION = "templates"


@dataclass(frozen=True)
class LiveTemplate:
    """A template as a send pins it; ``version`` is None while it has no approved version."""

    template: Template
    version: TemplateVersion | None
    approval_id: int | None


_CACHED: GenerationCache[LiveTemplate] = GenerationCache(TEMPLATES_GENERATION)


def live_templates(keys: Iterable[str]) -> dict[str, LiveTemplate]:
    """The templates with these keys (unknown keys are absent), each with its live version and
    the id of that version's latest approval: from this process's cache, else one query."""
    current = generation(TEMPLATES_GENERATION)
    found: dict[str, LiveTemplate] = {}
    wanted: set[str] = set()
    for key in set(keys):
        hit = _CACHED.get(key, current)
        if hit is None:
            wanted.add(key)
        else:
            found[key] = hit
    if wanted:
        for live in _live_templates_read(wanted):
            found[live.template.key] = live
            _CACHED.put(live.template.key, live, current)
    return found


def _live_templates_read(wanted: set[str]) -> list[LiveTemplate]:
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
    return [LiveTemplate(t, t.live_version, t.approval_id) for t in templates]
