"""What a version needs from a send's data: its declared variables and the names its content uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from templates_app.models import TemplateVariant, TemplateVersion, VersionStatus
from templates_app.rendering.notify_syntax import notify_to_jinja
from templates_app.rendering.variables import DataProblem, VariableSpec, data_problems

_parser = SandboxedEnvironment()

# A submitted version never changes, so what is read from its rows is cached (bounded, per
# process). The key includes the creation time so that a reused id (a restored database, test
# runs) never hits.
_SPEC_CACHE: dict[tuple[int, object], tuple[VariableSpec, ...]] = {}
_CONTENT_CACHE: dict[tuple[int, object], VersionContent] = {}
_CACHE_SIZE = 2048
T = TypeVar("T")


def _per_version(cache: dict[tuple[int, object], T], version: TemplateVersion, read: Callable[[], T]) -> T:
    cacheable = version.status != VersionStatus.DRAFT and version.pk is not None
    key = (version.pk, version.created_at)
    if cacheable and key in cache:
        return cache[key]
    value = read()
    if cacheable:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = value
    return value


def version_variables(version: TemplateVersion) -> tuple[VariableSpec, ...]:
    """The variables a version declares, detached from the database."""
    return _per_version(
        _SPEC_CACHE,
        version,
        lambda: tuple(
            VariableSpec(name=v.name, type=v.type, required=v.required, example=v.example)
            for v in version.variables.all()
        ),
    )


@dataclass(frozen=True)
class VersionContent:
    """What a send needs to know of a version's content: the channels it has content for (in
    the order SMS, email, push) and the variable names its content and layout use."""

    channels: tuple[str, ...]
    used: frozenset[str]


def version_content(version: TemplateVersion) -> VersionContent:
    """The version's channels and used names (one read of its variants, then cached)."""
    from templates_app.rendering.core import version_layout

    def read() -> VersionContent:
        variants = list(version.variants.all())
        present = {v.channel for v in variants}
        return VersionContent(
            channels=tuple(c for c in ("sms", "email", "push") if c in present),
            used=frozenset(used_names(variants, version_layout(version))),
        )

    return _per_version(_CONTENT_CACHE, version, read)


@lru_cache(maxsize=4096)
def source_names(source: str) -> frozenset[str]:
    """Top-level variable names a piece of content refers to (empty if it does not parse);
    Notify placeholders (``((name))``) count as well."""
    source = notify_to_jinja(source)
    if "{" not in source:
        return frozenset()
    try:
        return frozenset(meta.find_undeclared_variables(_parser.parse(source)))
    except jinja2.TemplateSyntaxError:
        return frozenset()


def variant_sources(variant: TemplateVariant) -> list[str]:
    """Every piece of a variant that is a template, push data values included."""
    sources = [variant.subject, variant.preheader, variant.html, variant.text, variant.title, variant.link]
    sources.extend(_json_strings(variant.data))
    return [s for s in sources if s]


def _json_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def used_names(variants: Iterable[TemplateVariant], layout: Mapping[str, str] | None = None) -> set[str]:
    names: set[str] = set()
    for variant in variants:
        for source in variant_sources(variant):
            names |= source_names(source)
    if layout:
        for key in ("header_html", "footer_html"):
            names |= source_names(layout.get(key, ""))
    return names


def validate_data(version: TemplateVersion, data: Mapping[str, Any]) -> list[DataProblem]:
    """Every missing or mistyped variable in ``data`` for this version, each naming the
    variable (``problem.field`` is ``data.<name>``); an empty list means the data will render."""
    return data_problems(version_variables(version), data, used=version_content(version).used)


__all__ = [
    "DataProblem",
    "VersionContent",
    "source_names",
    "used_names",
    "validate_data",
    "version_content",
    "version_variables",
]
