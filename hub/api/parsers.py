"""The API's JSON parser, with the body size limit enforced while reading.

DRF's JSONParser reads the whole stream, and Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only
when something reads ``request.body``: a large body was either parsed whole or failed as a 500.
Here at most the limit plus one byte is read; more is a 413 ``payload_too_large``."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from hub.api.problems import PayloadTooLarge


class LimitedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            stream = io.BytesIO(body)
        return super().parse(stream, media_type, parser_context)
