"""Rendering template versions: sandboxed Jinja2, typed variables, email HTML, previews."""

from templates_app.rendering.core import (
    RenderedContent,
    RenderError,
    locale_chain,
    variant_render,
    variant_select,
    version_channels,
)
from templates_app.rendering.validation import validate_data, version_variables

__all__ = [
    "RenderError",
    "RenderedContent",
    "locale_chain",
    "validate_data",
    "variant_render",
    "variant_select",
    "version_channels",
    "version_variables",
]
