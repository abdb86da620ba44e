"""Rendering a template version for one channel, locale and data, in Jinja2's sandbox.

Compiled templates are cached per variant (a submitted version never changes), so bulk
rendering compiles each piece of content once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from templates_app.models import TemplateVariant, TemplateVersion


class RenderError(Exception):
    """The content could not be rendered with the data given (e.g. a missing variable)."""


@dataclass(frozen=True)
class RenderedContent:
    subject: str = ""
    html: str = ""
    text: str = ""
    title: str = ""
    link: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


_text_env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
_html_env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=True)


@lru_cache(maxsize=4096)
def _compile(source: str, html: bool) -> jinja2.Template:
    return (_html_env if html else _text_env).from_string(source)


def _render(source: str, data: Mapping[str, Any], *, html: bool = False) -> str:
    if not source:
        return ""
    try:
        return _compile(source, html).render(data)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"Missing template variable: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"Template error: {exc}") from exc


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
    present = {v.channel for v in version.variants.all()}
    return [c for c in ("sms", "email", "push") if c in present]


def variant_render(variant: TemplateVariant, data: Mapping[str, Any]) -> RenderedContent:
    """Render one variant; raises RenderError naming what is wrong."""
    return RenderedContent(
        subject=_render(variant.subject, data),
        html=_render(variant.html, data, html=True),
        text=_render(variant.text, data),
        title=_render(variant.title, data),
        link=_render(variant.link, data),
    )
