"""Helpers for building template content in tests."""

from __future__ import annotations

from typing import Any

from templates_app.models import TemplateVariant
from templates_app.rendering.variables import VariableSpec


def variant(channel: str = "sms", locale: str = "en", **fields: Any) -> TemplateVariant:
    """An unsaved variant (what the editor previews and the lint checks)."""
    return TemplateVariant(channel=channel, locale=locale, **fields)


def spec(name: str, type: str = "string", example: str = "x", *, required: bool = True) -> VariableSpec:
    return VariableSpec(name=name, type=type, required=required, example=example)
