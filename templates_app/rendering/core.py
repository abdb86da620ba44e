"""Rendering a template version for one channel, locale and data, in Jinja2's sandbox.

Compiled templates are cached by source (a submitted version never changes), so bulk
rendering compiles each piece of content once per process. Values of declared types are
formatted for the variant's locale; email HTML is cleaned, framed and CSS-inlined.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import jinja2

from templates_app.models import Channel, TemplateVariant, TemplateVersion, VersionStatus
from templates_app.rendering.html import email_document, html_to_text
from templates_app.rendering.limits import MAX_OUTPUT, render_limits
from templates_app.rendering.notify_syntax import notify_to_jinja
from templates_app.rendering.sandbox import sandbox
from templates_app.rendering.validation import version_content, version_variables
from templates_app.rendering.variables import VariableSpec, filter_date, typed_context


class RenderError(Exception):
    """The content could not be rendered with the data given (e.g. a missing variable)."""


@dataclass(frozen=True)
class RenderedContent:
    """What a provider sends. ``data`` is the push data as a JSON object text."""

    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    title: str = ""
    link: str = ""
    data: str = ""

    def as_dict(self) -> dict[str, str]:
        # Every field is a str: no need for asdict's deep copy (this runs twice per message sent).
        return {name: v for name in _CONTENT_FIELDS if (v := getattr(self, name))}


_CONTENT_FIELDS = tuple(f.name for f in fields(RenderedContent))


_text_env = sandbox(autoescape=False, extra_filters={"date": filter_date})
_html_env = sandbox(autoescape=True, extra_filters={"date": filter_date})


@lru_cache(maxsize=4096)
def _compile(source: str, html: bool) -> jinja2.Template:
    return (_html_env if html else _text_env).from_string(notify_to_jinja(source))


def _render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    if not source:
        return ""
    try:
        with render_limits():
            parts: list[str] = []
            size = 0
            for chunk in _compile(source, html).generate(context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise RenderError(f"The rendered content is longer than {MAX_OUTPUT:,} characters.")
                parts.append(chunk)
            return "".join(parts)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"Missing template variable: {exc.message}") from exc
    except jinja2.TemplateError as exc:  # includes the sandbox's SecurityError (the limits)
        raise RenderError(f"Template error: {exc}") from exc
    except RecursionError:  # a macro that calls itself: the steps would stop it, the stack first
        raise RenderError("Template error: macros nest too deeply.") from None
    except (ArithmeticError, ValueError, TypeError) as exc:  # template code such as {{ 1 / 0 }}
        raise RenderError(f"Template error: {type(exc).__name__}: {exc}") from exc


def locale_chain(requested: str, default: str) -> list[str]:
    """``fr-CA`` → ``fr-CA``, ``fr``, then the template's default locale."""
    chain: list[str] = []
    if requested:
        chain.append(requested)
        language = requested.split("-")[0]
        if language != requested:
            chain.append(language)
    if default not in chain:
        chain.append(default)
    return chain


def variant_select(
    variants: list[TemplateVariant], *, channel: str, locale: str, default_locale: str
) -> TemplateVariant | None:
    """The best variant of a version for a channel and locale, following the fallback chain."""
    by_locale = {v.locale.lower(): v for v in variants if v.channel == channel}
    for candidate in locale_chain(locale, default_locale):
        found = by_locale.get(candidate.lower())
        if found is not None:
            return found
    return None


def version_channels(version: TemplateVersion) -> list[str]:
    """The channels a version has content for, in the order SMS, email, push."""
    return list(version_content(version).channels)


def layout_as_dict(layout: Any) -> dict[str, str]:
    if layout is None:
        return {}
    return {
        "name": layout.name,
        "header_html": layout.header_html,
        "footer_html": layout.footer_html,
        "postal_address": layout.postal_address,
        "css": layout.css,
    }


def version_layout(version: TemplateVersion) -> dict[str, str]:
    """The layout a version renders in: frozen at submit, the current one while a draft."""
    if version.status != VersionStatus.DRAFT:
        return dict(version.layout_snapshot)
    return layout_as_dict(version.layout)


def _render_json(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _render(value, context)
    if isinstance(value, Mapping):
        return {str(k): _render_json(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, context) for v in value]
    return value


def variant_render(
    variant: TemplateVariant,
    data: Mapping[str, Any],
    *,
    layout: Mapping[str, str] | None = None,
    specs: Sequence[VariableSpec] | None = None,
) -> RenderedContent:
    """Render one variant; raises RenderError naming what is wrong.

    Dates, money and numbers of declared variables are formatted for the variant's locale.
    Email HTML is cleaned of scripts, handlers and frames, framed in the version's layout and
    CSS-inlined; a blank email text part is derived from the HTML. ``layout`` and ``specs``
    replace the version's (previews and lint of unsaved content pass them).
    """
    if specs is None or layout is None:
        version = variant.version
        specs = version_variables(version) if specs is None else specs
        layout = version_layout(version) if layout is None else layout
    context = typed_context(specs, data, variant.locale)
    with render_limits():  # one budget of steps and time for all the variant's fields
        if variant.channel == Channel.EMAIL:
            return _render_email(variant, context, layout)
        data_json = ""
        if variant.channel == Channel.PUSH and variant.data:
            data_json = json.dumps(_render_json(variant.data, context), ensure_ascii=False, sort_keys=True)
        return RenderedContent(
            text=_render(variant.text, context),
            title=_render(variant.title, context),
            link=_render(variant.link, context),
            data=data_json,
        )


def _render_email(
    variant: TemplateVariant, context: Mapping[str, Any], layout: Mapping[str, str]
) -> RenderedContent:
    content = _render(variant.html, context, html=True)
    preheader = _render(variant.preheader, context)
    header = _render(layout.get("header_html", ""), context, html=True)
    footer = _render(layout.get("footer_html", ""), context, html=True)
    html = ""
    if content:
        html = email_document(
            content=content,
            preheader=preheader,
            layout=layout,
            locale=variant.locale,
            header=header,
            footer=footer,
        )
    text = _render(variant.text, context)
    if not text.strip() and content:
        address = layout.get("postal_address", "")
        text = html_to_text(f"{header}{content}{footer}<p>{address}</p>")
    return RenderedContent(
        subject=_render(variant.subject, context), preheader=preheader, html=html, text=text
    )
