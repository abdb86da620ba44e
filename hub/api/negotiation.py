"""DRF's content negotiation, with the API's usual request answered without parsing.

A JSON body (``Content-Type: application/json`` exactly) goes to the JSON parser at once.

The API has one renderer (JSON). A request that names no format (no ``?format=``, no suffix)
and accepts anything or exactly that renderer's type (no ``Accept``, ``*/*``, or the type
itself, as clients and their libraries send) gets that renderer and its type, which is what
DRF's negotiation returns for it too; every other request (an ``Accept`` with parameters, a
list, another type: a 406) goes through DRF's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JsonContentNegotiation(DefaultContentNegotiation):
    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        # A body of exactly the first parser's type is that parser's, as DRF finds by parsing
        # both types (a type always matches itself); anything else is DRF's to judge.
        if isinstance(parsers, list) and parsers:
            first: BaseParser = parsers[0]
            if request.content_type == first.media_type:
                return first
        return super().select_parser(request, parsers)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        meta: dict[str, Any] = request.META
        if (
            isinstance(renderers, list)
            and len(renderers) == 1
            and format_suffix is None
            and not meta.get("QUERY_STRING")
        ):
            renderer = renderers[0]
            if (
                meta.get("HTTP_ACCEPT", "*/*") in ("*/*", renderer.media_type)
                and ";" not in renderer.media_type
            ):
                return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]
