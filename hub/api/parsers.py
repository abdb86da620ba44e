"""The API's JSON parser, with the body size limit enforced while reading.

DRF's JSONParser reads the whole stream, and Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only
when something reads ``request.body``: a large body was either parsed whole or failed as a 500.
Here at most the limit plus one byte is read; more is a 413 ``payload_too_large``.

A body PostgreSQL or Python cannot hold is refused here too, not a 500 later: a 422
``unstorable_json`` (the schema allows it, its meaning is refused) for nesting deeper than
Python's recursion limit, and for a string with a NUL (``\\u0000``) or a lone surrogate
(``\\ud800`` without its pair), which text and jsonb columns refuse. Raw UTF-8 cannot
carry either (it is decoded strictly), so only ``\\u`` escapes are looked at."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from hub.api.problems import PayloadTooLarge, Problem

# A \\u escape (after an even number of backslashes): a surrogate pair (fine), or a NUL or a lone
# surrogate (refused).
_ESCAPE = re.compile(
    rb"(?<!\\)(?:\\\\)*\\u(?:(?P<pair>d[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2})|0000|d[89a-f][0-9a-f]{2})",
    re.IGNORECASE,
)


def _unstorable_escape(body: bytes) -> bool:
    return b"\\u" in body and any(m["pair"] is None for m in _ESCAPE.finditer(body))


def _unstorable(detail: str) -> Problem:
    return Problem(status_code=422, code="unstorable_json", title="JSON the hub cannot store", detail=detail)


class LimitedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        if stream is None:
            return super().parse(stream, media_type, parser_context)
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        stream = io.BytesIO(body)
        if _unstorable_escape(body):
            raise _unstorable(
                "A string holds a NUL (\\u0000) or a lone surrogate, which the hub cannot store."
            )
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _unstorable("The JSON is nested too deeply for the hub to read.") from None
