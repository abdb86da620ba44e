"""Previews and diffs of version content for the editor (reads only; nothing is saved).

The editor posts its unsaved form; the admin turns it into unsaved variants and variable
specs and calls ``content_preview``, so a marketer sees what a recipient would get, the SMS
segments and the lint findings while typing.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from templates_app.lint import sms_segment_price, version_lint
from templates_app.models import Channel, TemplateVariant, TemplateVersion, Tracking, tracking_on
from templates_app.rendering.core import RenderError, variant_render, version_layout
from templates_app.rendering.validation import version_variables
from templates_app.rendering.variables import SAMPLE_RESERVED, VariableSpec, example_data
from templates_app.sms import sms_info_sent


def content_preview(
    *,
    category: str,
    variants: Sequence[TemplateVariant],
    specs: Sequence[VariableSpec],
    layout: Mapping[str, str],
    tracked: bool | None = None,
) -> dict[str, Any]:
    """Each variant rendered with the example values (and a sample for the names the hub
    fills, such as ``unsubscribe_url``), SMS facts, and the lint findings."""
    data = {**example_data(specs), **SAMPLE_RESERVED}
    if tracked is None:
        tracked = tracking_on(Tracking.AUTO, category)
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
            info = sms_info_sent(content.text, tracked=tracked)
            item["sms"] = info.as_dict() | {
                "cost": f"{info.cost(price).quantize(Decimal('0.0001'))} {currency}" if price else ""
            }
        rendered.append(item)
    findings = version_lint(category=category, variants=variants, specs=specs, layout=layout, tracked=tracked)
    return {"variants": rendered, "findings": [f.as_dict() for f in findings]}


def version_preview(version: TemplateVersion) -> dict[str, Any]:
    """The preview of a saved version (frozen layout once submitted)."""
    return content_preview(
        category=version.template.category,
        variants=list(version.variants.all()),
        specs=version_variables(version),
        layout=version_layout(version),
        tracked=version.template.tracks_links,
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


def _words(text: str) -> list[str]:
    return re.split(r"(\s+)", text)


def word_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Two escaped HTML strings: ``old`` with the words it loses in ``<del>``, ``new`` with
    the words it gains in ``<ins>`` (difflib over words and the spaces between them)."""
    a, b = _words(old), _words(new)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        gone, came = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(gone)
            right.append(came)
            continue
        if gone:
            left.append(f"<del>{gone}</del>")
        if came:
            right.append(f"<ins>{came}</ins>")
    return mark_safe("".join(left)), mark_safe("".join(right))  # noqa: S308 - every part escaped


COMPARED_FIELDS = ("subject", "preheader", "title", "text", "link")


def version_compare(old: TemplateVersion | None, new: TemplateVersion) -> list[dict[str, Any]]:
    """Old and new side by side, as recipients would see them (rendered with the example
    values): per channel and locale, each text field with word-level highlights, and the
    email HTML of both for a rendered preview. A variant only one side has is shown alone."""
    before = {(v["channel"], v["locale"]): v for v in (version_preview(old)["variants"] if old else [])}
    after = {(v["channel"], v["locale"]): v for v in version_preview(new)["variants"]}
    out: list[dict[str, Any]] = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key, {}), after.get(key, {})
        fields = []
        for name in COMPARED_FIELDS:
            left, right = str(was.get(name, "") or ""), str(now.get(name, "") or "")
            if left or right:
                old_html, new_html = word_diff(left, right)
                fields.append({"name": name, "old": old_html, "new": new_html, "changed": left != right})
        out.append(
            {
                "channel": key[0],
                "locale": key[1],
                "only": "new" if not was else ("old" if not now else ""),
                "fields": fields,
                "old_html": was.get("html", ""),
                "new_html": now.get("html", ""),
                "html_changed": was.get("html", "") != now.get("html", ""),
            }
        )
    return out
