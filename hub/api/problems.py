"""Every API error as RFC 9457 ``application/problem+json`` with a stable ``code``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from hub.refusals import Refused

logger = logging.getLogger("hub.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Field error codes for values the schema allows but the hub refuses on their meaning (a number
# not valid for its country, an unknown time zone...). A body whose every error is one of these
# is answered 422 (RFC 9110 Unprocessable Content); any schema violation keeps it a 400.
UNPROCESSABLE_CODES = frozenset(
    {"invalid_phone", "invalid_email", "unknown_timezone", "callback_url", "duplicate", "date_range"}
)


def problem_type(code: str) -> str:
    return f"urn:switchboard:problem:{code}"


class Problem(exceptions.APIException):
    """An error with a stable code; ``field`` names the offending request field, if any."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        title: str,
        detail: str,
        field: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.title = title
        self.problem_code = code
        self.field = field
        self.headers = dict(headers or {})


def refused_problem(exc: Refused, *, title: str) -> Problem:
    """A service's refusal as the API answers it."""
    return Problem(status_code=exc.status, code=exc.code, title=title, detail=exc.detail, field=exc.field)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this hub accepts."
    default_code = "payload_too_large"


def problem_body(
    *,
    status_code: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    return body


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error structure as a flat list of {field, message, code}."""
    if isinstance(detail, Mapping):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(flatten_errors(value, name))
        return out
    if isinstance(detail, list):
        out = []
        for index, item in enumerate(detail):
            if isinstance(item, Mapping | list) and not isinstance(item, exceptions.ErrorDetail):
                out.extend(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
            else:
                out.extend(flatten_errors(item, prefix))
        return out
    code = getattr(detail, "code", "invalid")
    return [{"field": prefix, "message": str(detail), "code": str(code)}]


_GENERIC: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ParseError: ("malformed_request", "Malformed request body"),
    exceptions.AuthenticationFailed: ("unauthenticated", "Authentication failed"),
    exceptions.NotAuthenticated: ("unauthenticated", "Authentication required"),
    exceptions.PermissionDenied: ("forbidden", "Not allowed"),
    exceptions.NotFound: ("not_found", "Not found"),
    exceptions.MethodNotAllowed: ("method_not_allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not_acceptable", "Not acceptable"),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type"),
    exceptions.Throttled: ("rate_limited", "Too many requests"),
    PayloadTooLarge: ("payload_too_large", "Request body too large"),
}


def problem_body_for(exc: Problem | exceptions.ValidationError, *, instance: str) -> dict[str, Any]:
    """The problem+json body of a refusal or of invalid input: a ValidationError whose every
    error is one of UNPROCESSABLE_CODES is a 422, any other a 400."""
    if isinstance(exc, Problem):
        errors = (
            [{"field": exc.field, "message": str(exc.detail), "code": exc.problem_code}]
            if exc.field
            else None
        )
        return problem_body(
            status_code=exc.status_code,
            code=exc.problem_code,
            title=exc.title,
            detail=str(exc.detail),
            instance=instance,
            errors=errors,
        )
    errors = flatten_errors(exc.detail)
    fields = ", ".join(sorted({e["field"] for e in errors if e["field"]})) or "the request"
    return problem_body(
        status_code=422 if unprocessable(errors) else 400,
        code="invalid_request",
        title="Invalid request",
        detail=f"Please correct: {fields}.",
        instance=instance,
        errors=errors,
    )


def unprocessable(errors: list[dict[str, str]]) -> bool:
    """Whether these (flattened) errors refuse values on their meaning only (422), not a
    violation of the schema (400)."""
    return bool(errors) and all(e["code"] in UNPROCESSABLE_CODES for e in errors)


# How long a caller is asked to wait when the database did not answer.
DATABASE_RETRY_AFTER = 5


def database_unavailable(exc: Exception) -> bool:
    """The database did not answer or could not write (down, restarting, failing over, out of
    disk, a lock not granted in time): the request's transaction rolled back, so the caller
    should try again (a 503 with Retry-After), not read a 500 as a bug of ours."""
    return isinstance(exc, OperationalError | InterfaceError)


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    request = context.get("request")
    instance = request.path if request is not None else ""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):  # Django's own check, when something read request.body
        exc = PayloadTooLarge()
    if isinstance(exc, Problem | exceptions.ValidationError):
        if isinstance(exc, Problem):
            headers.update(exc.headers)
        body = problem_body_for(exc, instance=instance)
    elif isinstance(exc, exceptions.APIException):
        code, title = _GENERIC.get(type(exc), ("error", "Error"))
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait)))
        if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = problem_body(
            status_code=exc.status_code, code=code, title=title, detail=detail, instance=instance
        )
    elif database_unavailable(exc):
        logger.error("The database did not answer in API view %s (%s)", instance, type(exc).__name__)
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        body = problem_body(
            status_code=503,
            code="unavailable",
            title="Service unavailable",
            detail=(
                "The hub's database did not answer; try again shortly. With the same "
                "Idempotency-Key a retry never sends twice."
            ),
            instance=instance,
        )
    else:
        logger.exception("Unhandled error in API view %s", instance)
        body = problem_body(
            status_code=500,
            code="internal_error",
            title="Internal error",
            detail="Something went wrong on our side; it has been logged.",
            instance=instance,
        )
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _problem_response(
    request: HttpRequest, status_code: int, code: str, title: str, detail: str
) -> HttpResponse:
    body = problem_body(status_code=status_code, code=code, title=title, detail=detail, instance=request.path)
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


@csrf_exempt  # an API client has no CSRF token; its POST must get this 404, not a 403 page
def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """No API endpoint at this path (e.g. a malformed id in it): problem+json, whatever the
    method and whether ``DEBUG`` is on (Django's debug 404 page would bypass handler404)."""
    return _problem_response(
        request,
        status.HTTP_404_NOT_FOUND,
        "not_found",
        "Not found",
        "There is no API endpoint at this path.",
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django-level 404: problem+json under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _problem_response(
            request,
            500,
            "internal_error",
            "Internal error",
            "Something went wrong on our side; it has been logged.",
        )
    from django.views.defaults import server_error

    return server_error(request)
