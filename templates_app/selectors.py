"""Reads of templates for other layers (the API, the admin)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from templates_app.models import Template, TemplateVariable, TemplateVariant
from templates_app.rendering.variables import VariableSpec, example_value


@dataclass(frozen=True)
class LiveTemplate:
    key: str
    name: str
    description: str
    category: str
    version: int
    channels: list[str]
    locales: list[str]
    default_locale: str
    variables: list[dict[str, Any]]


def templates_live(
    *, categories: Iterable[str] | None = None, keys: Iterable[str] | None = None
) -> list[LiveTemplate]:
    """Templates with a live version (optionally only these categories/keys), ordered by key,
    each with its channels, locales and declared variables (examples as JSON values)."""
    queryset = (
        Template.objects.filter(live_version__isnull=False)
        .select_related("live_version")
        .prefetch_related(
            Prefetch(
                "live_version__variants",
                queryset=TemplateVariant.objects.only("channel", "locale", "version"),
            ),
            Prefetch("live_version__variables", queryset=TemplateVariable.objects.order_by("name")),
        )
        .order_by("key")
    )
    if categories is not None:
        queryset = queryset.filter(category__in=list(categories))
    if keys is not None:
        queryset = queryset.filter(key__in=list(keys))
    result = []
    for template in queryset:
        version = template.live_version
        assert version is not None  # noqa: S101 - filtered above
        variants = list(version.variants.all())
        present = {v.channel for v in variants}
        result.append(
            LiveTemplate(
                key=template.key,
                name=template.name,
                description=template.description,
                category=template.category,
                version=version.number,
                channels=[c for c in ("sms", "email", "push") if c in present],
                locales=sorted({v.locale for v in variants}),
                default_locale=template.default_locale,
                variables=[
                    {
                        "name": v.name,
                        "type": v.type,
                        "required": v.required,
                        "example": example_value(VariableSpec(v.name, v.type, v.required, v.example)),
                        "description": v.description,
                    }
                    for v in version.variables.all()
                ],
            )
        )
    return result
