"""Previews and diffs of version content for the editor (reads only; nothing is saved).

The editor posts its unsaved form; the admin turns it into unsaved variants and variable
specs and calls ``content_preview``, so a marketer sees what a recipient would get, the SMS
segments and the lint findings while typing.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from templates_app.lint import sms_segment_price, version_lint
from templates_app.models import Channel, TemplateVariant, TemplateVersion
from templates_app.rendering.core import RenderError, variant_render, version_layout
from templates_app.rendering.validation import version_variables
from templates_app.rendering.variables import SAMPLE_RESERVED, VariableSpec, example_data
from templates_app.sms import sms_info


def content_preview(
    *,
    category: str,
    variants: Sequence[TemplateVariant],
    specs: Sequence[VariableSpec],
    layout: Mapping[str, str],
) -> dict[str, Any]:
    """Each variant rendered with the example values (and a sample for the names the hub
    fills, such as ``unsubscribe_url``), SMS facts, and the lint findings."""
    data = {**example_data(specs), **SAMPLE_RESERVED}
    price, currency = sms_segment_price()
    rendered: list[dict[str, Any]] = []
    for variant in variants:
        item: dict[str, Any] = {"channel": variant.channel, "locale": variant.locale}
        try:
            content = variant_render(variant, data, layout=layout, specs=specs)
        except RenderError as exc:
            item["error"] = str(exc)
            rendered.append(item)
            continue
        item.update(content.as_dict())
        if variant.channel == Channel.SMS:
            info = sms_info(content.text)
            item["sms"] = info.as_dict() | {
                "cost": f"{info.cost(price).quantize(Decimal('0.0001'))} {currency}"
            }
        rendered.append(item)
    findings = version_lint(category=category, variants=variants, specs=specs, layout=layout)
    return {"variants": rendered, "findings": [f.as_dict() for f in findings]}


def version_preview(version: TemplateVersion) -> dict[str, Any]:
    """The preview of a saved version (frozen layout once submitted)."""
    return content_preview(
        category=version.template.category,
        variants=list(version.variants.all()),
        specs=version_variables(version),
        layout=version_layout(version),
    )


def _content_lines(version: TemplateVersion) -> list[str]:
    lines: list[str] = []
    layout = version.layout_snapshot.get("name") if version.layout_snapshot else None
    lines.append(f"layout: {layout or (version.layout.name if version.layout else '(none)')}")
    for var in version.variables.order_by("name"):
        required = "required" if var.required else "optional"
        lines.append(f"variable {var.name}: {var.type}, {required}, example {var.example!r}")
    for variant in version.variants.order_by("channel", "locale"):
        for field in ("subject", "preheader", "title", "link", "html", "text"):
            value = getattr(variant, field)
            for line in value.splitlines() or ([""] if value else []):
                lines.append(f"[{variant.channel}/{variant.locale}] {field}: {line}")
        if variant.data:
            lines.append(
                f"[{variant.channel}/{variant.locale}] data: {json.dumps(variant.data, sort_keys=True)}"
            )
    return lines


def version_diff(old: TemplateVersion, new: TemplateVersion) -> list[tuple[str, str]]:
    """Line by line, ``("-", line)`` only in ``old``, ``("+", line)`` only in ``new``, ``(" ", line)`` both."""
    out: list[tuple[str, str]] = []
    for line in difflib.ndiff(_content_lines(old), _content_lines(new)):
        if line.startswith("? "):
            continue
        out.append((line[0], line[2:]))
    return out
