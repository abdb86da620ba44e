"""Templates as code: export content as JSON, import it as drafts (never as approvals).

The format is versioned (``FORMAT``). An import is all-or-nothing: it is checked in full
before anything is written, and every imported version arrives as a draft that compliance
must approve in the target environment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from templates_app.models import EmailLayout, Template, TemplateVariable, TemplateVariant
from templates_app.services.notify_import import is_notify_document, notify_templates_as_document
from templates_app.services.workflow import (
    VARIABLE_FIELDS,
    VARIANT_FIELDS,
    template_draft_create,
    version_content,
)

FORMAT = "switchboard.templates/1"
# A template's measurement settings (docs/measurement.md): exported, and imported when given.
MEASUREMENT_FIELDS = ("tracking", "goal_event", "attribution_days")
LAYOUT_FIELDS = ("name", "header_html", "footer_html", "postal_address", "css")


class ImportFailed(Exception):
    """The document cannot be imported; ``problems`` says where (nothing was written)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class ImportReport:
    created_templates: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)  # "key vN"
    unchanged: list[str] = field(default_factory=list)
    created_layouts: list[str] = field(default_factory=list)


def templates_export(*, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """The live content (or, with no live version, the latest) of each template, with the
    layouts it uses. Approvals, authors and history are deliberately left out."""
    templates = Template.objects.select_related("live_version__layout").order_by("key")
    if keys is not None:
        templates = templates.filter(key__in=list(keys))
    out: list[dict[str, Any]] = []
    layouts: dict[str, EmailLayout] = {}
    for template in templates:
        version = template.live_version or template.versions.order_by("-number").first()
        content = version_content(version) if version else None
        if version and version.layout:
            layouts[version.layout.name] = version.layout
        out.append(
            {
                "key": template.key,
                "name": template.name,
                "description": template.description,
                "category": template.category,
                "default_locale": template.default_locale,
                "tracking": template.tracking,
                "goal_event": template.goal_event,
                "attribution_days": template.attribution_days,
                "content": content,
            }
        )
    return {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "layouts": [{f: getattr(lay, f) for f in LAYOUT_FIELDS} for lay in layouts.values()],
        "templates": out,
    }


def _problems(document: Mapping[str, Any]) -> list[str]:
    if document.get("format") != FORMAT:
        return [f"Unknown format {document.get('format')!r}; expected {FORMAT!r}."]
    problems: list[str] = list(document.get("skipped", []))
    layout_names = {lay.get("name") for lay in document.get("layouts", [])}
    for lay in document.get("layouts", []):
        try:
            EmailLayout(**{f: lay.get(f, "") for f in LAYOUT_FIELDS}).clean_fields(exclude=["name"])
        except (ValidationError, TypeError) as exc:
            problems.append(f"layout {lay.get('name')!r}: {exc}")
    for item in document.get("templates", []):
        key = item.get("key", "?")
        try:
            Template(
                **{f: item.get(f, "") for f in ("key", "name", "description", "category")},
                **{f: item[f] for f in MEASUREMENT_FIELDS if f in item},
            ).clean_fields(exclude=["default_locale", "live_version"])
        except (ValidationError, TypeError) as exc:
            problems.append(f"{key}: {exc}")
            continue
        existing = Template.objects.filter(key=key).first()
        if item.get("uuid"):
            problems.extend(_uuid_problems(key, item["uuid"], existing))
        if existing and existing.category != item["category"]:
            problems.append(
                f"{key}: category is {existing.category} here but {item['category']} in the file; "
                "change it deliberately, not by import."
            )
        content = item.get("content") or {}
        layout = content.get("layout")
        if layout and layout not in layout_names and not EmailLayout.objects.filter(name=layout).exists():
            problems.append(f"{key}: layout {layout!r} is neither in the file nor here.")
        for variant in content.get("variants", []):
            try:
                TemplateVariant(**{f: variant[f] for f in VARIANT_FIELDS if f in variant}).clean_fields(
                    exclude=["version"]
                )
            except (ValidationError, TypeError) as exc:
                problems.append(f"{key} {variant.get('channel')}/{variant.get('locale')}: {exc}")
        for variable in content.get("variables", []):
            try:
                TemplateVariable(**{f: variable[f] for f in VARIABLE_FIELDS if f in variable}).clean_fields(
                    exclude=["version"]
                )
            except (ValidationError, TypeError) as exc:
                problems.append(f"{key} variable {variable.get('name')!r}: {exc}")
    return problems


def _uuid_problems(key: str, value: Any, existing: Template | None) -> list[str]:
    """A template's UUID (kept from GOV.UK Notify) must be one and must not name another template."""
    try:
        wanted = uuid.UUID(str(value))
    except ValueError:
        return [f"{key}: {value!r} is not a UUID."]
    if existing is not None and existing.uuid != wanted:
        return [f"{key}: its id here is {existing.uuid}, not {wanted}."]
    other = Template.objects.filter(uuid=wanted).exclude(key=key).values_list("key", flat=True).first()
    return [f"{key}: id {wanted} already belongs to template {other}."] if other else []


_VARIABLE_DEFAULTS: dict[str, Any] = {"type": "string", "required": True, "example": "", "description": ""}
_VARIANT_DEFAULTS: dict[str, Any] = dict.fromkeys(VARIANT_FIELDS, "") | {"data": {}}


def _normalised(content: Mapping[str, Any]) -> dict[str, Any]:
    """Content with defaults filled in and rows sorted, to compare a file with a version."""
    variables = [
        {f: v.get(f, _VARIABLE_DEFAULTS.get(f)) for f in VARIABLE_FIELDS}
        for v in content.get("variables", [])
    ]
    variants = [
        {f: v.get(f, _VARIANT_DEFAULTS[f]) for f in VARIANT_FIELDS} for v in content.get("variants", [])
    ]
    return {
        "layout": content.get("layout"),
        "variables": sorted(variables, key=lambda v: str(v["name"])),
        "variants": sorted(variants, key=lambda v: (str(v["channel"]), str(v["locale"]))),
    }


def templates_import(*, document: Mapping[str, Any], user: User) -> ImportReport:
    """Create missing templates and layouts, and one draft per template whose content differs
    from its newest version, authored by ``user`` (so someone else must approve it). Raises
    ImportFailed (writing nothing) if anything is invalid. GOV.UK Notify's template JSON is
    taken as it is (see notify_import)."""
    if is_notify_document(document):
        document = notify_templates_as_document(document)
    if problems := _problems(document):
        raise ImportFailed(problems)
    report = ImportReport()
    actor = Actor.user(user.pk)
    with transaction.atomic():
        for lay in document.get("layouts", []):
            _, created = EmailLayout.objects.get_or_create(
                name=lay["name"], defaults={f: lay.get(f, "") for f in LAYOUT_FIELDS if f != "name"}
            )
            if created:
                report.created_layouts.append(lay["name"])
        for item in document.get("templates", []):
            template, created = Template.objects.get_or_create(
                key=item["key"],
                defaults={
                    "name": item["name"],
                    "description": item.get("description", ""),
                    "category": item["category"],
                    "default_locale": item.get("default_locale") or "en",
                    # Measurement settings (docs/measurement.md); older files have none.
                    **{f: item[f] for f in MEASUREMENT_FIELDS if f in item},
                    **({"uuid": uuid.UUID(str(item["uuid"]))} if item.get("uuid") else {}),
                },
            )
            if created:
                report.created_templates.append(template.key)
            content = item.get("content")
            if not content:
                continue
            newest = template.versions.order_by("-number").first()
            if newest and _normalised(version_content(newest)) == _normalised(content):
                report.unchanged.append(template.key)
                continue
            layout = EmailLayout.objects.get(name=content["layout"]) if content.get("layout") else None
            version = template_draft_create(
                template=template,
                author=user,
                variants=[{f: v[f] for f in VARIANT_FIELDS if f in v} for v in content.get("variants", [])],
                variables=[
                    {f: v[f] for f in VARIABLE_FIELDS if f in v} for v in content.get("variables", [])
                ],
                layout=layout,
                comment="Imported",
            )
            report.drafts.append(str(version))
        audit_append(
            actor=actor,
            action="template.imported",
            object_type="template",
            object_id="",
            payload={
                "drafts": report.drafts,
                "created_templates": report.created_templates,
                "unchanged": report.unchanged,
            },
        )
    return report
