"""How errors appear in the OpenAPI schema: every documented error is an
``application/problem+json`` body (RFC 9457) with its stable ``code`` and an example."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from hub.api.problems import PROBLEM_CONTENT_TYPE, problem_type
from hub.api.serializers import StrictSerializer


class ProblemFieldErrorSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(help_text="The offending field, e.g. `to.phone` or `Idempotency-Key`.")
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text="`urn:switchboard:problem:<code>`.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable; switch on this, not on the text.")
    instance = serializers.CharField(help_text="The request path.")
    # DRF's metaclass pops declared fields, so this does not shadow Serializer.errors at run time.
    errors = ProblemFieldErrorSerializer(  # type: ignore[assignment]
        many=True, required=False, help_text="For bad fields: which ones."
    )


def _example(
    status: int, code: str, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> Any:
    value: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": "/api/v1/notifications",
    }
    if errors:
        value["errors"] = errors
    return OpenApiExample(code, value=value, response_only=True, status_codes=[str(status)])


_EXAMPLES: dict[int, list[Any]] = {
    400: [
        _example(
            400,
            "invalid_request",
            "Invalid request",
            "Please correct: to.phone.",
            [
                {
                    "field": "to.phone",
                    "message": "Enter a valid phone number in E.164 format.",
                    "code": "invalid",
                }
            ],
        ),
    ],
    401: [
        _example(
            401, "unauthenticated", "Authentication failed", "This API key is not valid or has been revoked."
        )
    ],
    403: [
        _example(403, "forbidden", "Not allowed", "This API key may not do this: it lacks the 'send' scope."),
        _example(
            403,
            "template_not_allowed",
            "Notification not accepted",
            "This API key's scopes do not allow sending 'promo.spring' (marketing).",
            [{"field": "template", "message": "...", "code": "template_not_allowed"}],
        ),
    ],
    404: [
        _example(404, "not_found", "Not found", "No notification with this id is visible to this API key.")
    ],
    409: [
        _example(
            409,
            "idempotency_request_in_flight",
            "A request with this Idempotency-Key is in progress",
            "The first request with this Idempotency-Key is still being handled; retry shortly.",
        ),
        _example(
            409,
            "not_cancellable",
            "Nothing left to cancel",
            "Every message has already been sent or has ended.",
        ),
        _example(409, "invalid_state", "Broadcast not accepted", "A completed broadcast cannot be paused."),
    ],
    413: [
        _example(
            413,
            "payload_too_large",
            "Request body too large",
            "The request body is larger than 2621440 bytes.",
        )
    ],
    415: [
        _example(
            415, "unsupported_media_type", "Unsupported media type", 'Unsupported media type "text/plain".'
        )
    ],
    422: [
        _example(
            422,
            "unknown_template",
            "Notification not accepted",
            "There is no template with the key 'order.shiped'.",
            [
                {
                    "field": "template",
                    "message": "There is no template with the key 'order.shiped'.",
                    "code": "unknown_template",
                }
            ],
        ),
        _example(
            422,
            "invalid_request",
            "Invalid request",
            "Please correct: to.phone.",
            [
                {
                    "field": "to.phone",
                    "message": "This is not a valid phone number for its country.",
                    "code": "invalid_phone",
                }
            ],
        ),
        _example(
            422,
            "idempotency_key_reused",
            "Idempotency-Key reused with a different request",
            "This Idempotency-Key was first used with a different request body or endpoint.",
            [{"field": "Idempotency-Key", "message": "...", "code": "idempotency_key_reused"}],
        ),
    ],
    429: [
        _example(
            429,
            "rate_limited",
            "Too many requests",
            "Request was throttled. Expected available in 2 seconds.",
        ),
        _example(
            429,
            "quota_exceeded",
            "Daily quota reached",
            "This API key may send 10000 notifications per UTC day.",
        ),
    ],
}

_DESCRIPTIONS = {
    400: "The request does not match the schema; `errors` names the fields. Nothing was changed.",
    401: "No API key, or a revoked or unknown one.",
    403: "The key's scopes do not allow this.",
    404: "Nothing with this id is visible to this key.",
    409: "Conflict: a duplicate still in flight, or a state that does not allow this.",
    413: "The body is over the size limit (`DATA_UPLOAD_MAX_MEMORY_SIZE`, 2.5 MB by default).",
    415: "Send `Content-Type: application/json`.",
    422: (
        "The request matches the schema but is refused on its meaning (an unknown template, data "
        "the template cannot use, a phone number not valid for its country, an unknown time zone, "
        "a callback host that does not resolve, an Idempotency-Key reused with another body...); "
        "`code` and `errors` say which. Nothing was changed."
    ),
    429: "Rate limit or daily quota; wait `Retry-After` seconds.",
}


def problems(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """OpenAPI responses for these error statuses, as problem+json with examples."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            response=ProblemSerializer, description=_DESCRIPTIONS[status], examples=_EXAMPLES[status]
        )
        for status in statuses
    }


_NO_NUL = "^[^\\u0000]*$"
_NO_NUL_NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


class ProblemAutoSchema(AutoSchema):
    """The schema says exactly what the API accepts: a StrictSerializer's body allows no other
    keys (``additionalProperties: false``, as its ``to_internal_value`` refuses them) and at
    least its ``min_properties``; a list that may not be empty has ``minItems: 1``; every
    operation that reads a body documents 413, 415 and 422 (refused on meaning); a list of
    objects states its ``min_length``/``max_length`` as ``minItems``/``maxItems``."""

    def _map_basic_serializer(self, serializer: Any, direction: str) -> Any:
        schema = super()._map_basic_serializer(serializer, direction)  # type: ignore[no-untyped-call]
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
            if serializer.min_properties:
                schema["minProperties"] = serializer.min_properties
            if serializer.max_properties is not None:
                schema["maxProperties"] = serializer.max_properties
        return schema

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)  # type: ignore[no-untyped-call]
        if direction != "request" or not isinstance(schema, dict):
            return schema
        many = isinstance(field, serializers.ListSerializer | serializers.ListField)
        if many and not field.allow_empty:
            schema.setdefault("minItems", 1)
        if isinstance(field, serializers.ListSerializer):  # drf-spectacular maps them for ListField only
            for attribute, keyword in (("min_length", "minItems"), ("max_length", "maxItems")):
                if (limit := getattr(field, attribute, None)) is not None:
                    schema[keyword] = limit
        if many and getattr(field, "unique_items", False):
            schema["uniqueItems"] = True
        if type(field) is serializers.CharField and "pattern" not in schema:
            # DRF refuses NUL characters, and trims whitespace before checking for blank.
            schema["pattern"] = _NO_NUL if field.allow_blank else _NO_NUL_NOT_BLANK
        if isinstance(field, serializers.IPAddressField):
            schema["anyOf"] = [{"format": "ipv4"}, {"format": "ipv6"}]
        return schema

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            for status, response in problems(413, 415, 422).items():
                code = str(status[0])
                if code not in responses:
                    responses[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                        response, code, [PROBLEM_CONTENT_TYPE]
                    )
        return responses


class DeviceRequestSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """A device needs what its kind needs (DeviceSerializer.validate): an FCM device its
    token, a Web Push device its subscription."""

    target_class = "hub.api.contact_serializers.DeviceSerializer"

    def map_serializer(self, auto_schema: Any, direction: str) -> Any:
        schema = auto_schema._map_serializer(self.target_class, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        needs = {"fcm": "token", "webpush": "subscription"}
        return {
            **schema,
            "oneOf": [
                # A pattern, not an enum: drf-spectacular turns every enum on "kind" into
                # DeviceKindEnum, which would allow both kinds in both branches.
                {
                    "properties": {"kind": {"type": "string", "pattern": f"^{kind}$"}},
                    "required": ["kind", field],
                }
                for kind, field in needs.items()
            ],
        }
