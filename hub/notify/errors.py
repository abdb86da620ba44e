"""Every ``/v2/`` error in Notify's shape: ``{"status_code": N, "errors": [{"error": ..., "message": ...}]}``.

The error names and messages are Notify's, because Notify's clients and their users' code
match on them (``BadRequestError``, ``ValidationError``, ``AuthError``, ``RateLimitError``,
``TooManyRequestsError``, ``NoResultFound``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from hub.api.problems import DATABASE_RETRY_AFTER, PayloadTooLarge, Problem, database_unavailable
from hub.apikeys.models import ApiKey

logger = logging.getLogger("hub.notify")


class NotifyError(exceptions.APIException):
    """One Notify error; ``errors`` may hold several (validation reports them all)."""

    def __init__(self, status: int, error: str, message: str, *, more: list[str] | None = None) -> None:
        super().__init__(detail=message)
        self.status_code = status
        self.errors = [{"error": error, "message": message}] + [
            {"error": error, "message": m} for m in more or []
        ]


def bad_request(message: str) -> NotifyError:
    return NotifyError(400, "BadRequestError", message)


def not_found() -> NotifyError:
    return NotifyError(404, "NoResultFound", "No result found")


def notify_body(status: int, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"status_code": status, "errors": errors}


def _key_type(request: Any) -> str:
    api_key = getattr(request, "auth", None)
    if isinstance(api_key, ApiKey) and hasattr(api_key, "notify_key"):
        return str(api_key.notify_key.key_type).upper()
    return "NORMAL"


def notify_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF exception handler for the ``/v2/`` views."""
    request = context.get("request")
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = not_found()
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, NotifyError):
        status, errors = exc.status_code, exc.errors
    elif isinstance(exc, Problem) and exc.problem_code == "quota_exceeded":
        api_key = getattr(request, "auth", None)
        limit = api_key.daily_quota if isinstance(api_key, ApiKey) else None
        status = 429
        errors = [{"error": "TooManyRequestsError", "message": f"Exceeded send limits ({limit}) for today"}]
        headers.update(exc.headers)
    elif isinstance(exc, exceptions.Throttled):
        status = 429
        api_key = getattr(request, "auth", None)
        if isinstance(api_key, ApiKey):
            message = (
                f"Exceeded rate limit for key type {_key_type(request)} of "
                f"{api_key.rate_limit_per_minute} requests per 60 seconds"
            )
        else:
            message = "Too many requests with invalid API keys from this address; try again later"
        errors = [{"error": "RateLimitError", "message": message}]
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(max(1, int(wait)))
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        status = 401
        errors = [{"error": "AuthError", "message": "Unauthorized: authentication token must be provided"}]
    elif isinstance(exc, exceptions.PermissionDenied):
        status = 403
        errors = [{"error": "AuthError", "message": str(exc.detail)}]
    elif isinstance(exc, exceptions.ParseError):
        status = 400
        errors = [{"error": "BadRequestError", "message": "Invalid JSON supplied in POST data"}]
    elif isinstance(exc, exceptions.MethodNotAllowed):
        status = 405
        errors = [
            {"error": "MethodNotAllowed", "message": "The method is not allowed for the requested URL."}
        ]
    elif isinstance(exc, exceptions.APIException):
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        errors = [{"error": "BadRequestError", "message": detail}]
    elif database_unavailable(exc):
        logger.error("The database did not answer in a /v2/ view (%s)", type(exc).__name__)
        status = 503
        errors = [
            {"error": "ServiceUnavailableError", "message": "Service temporarily unavailable; try again"}
        ]
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    else:
        logger.exception("Unhandled error in /v2/ view %s", request.path if request is not None else "")
        status = 500
        errors = [{"error": "Exception", "message": "Internal server error"}]
    return Response(notify_body(status, errors), status=status, headers=headers)


@csrf_exempt  # an API client has no CSRF token
def notify_path_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Any other path under ``/v2/``: Notify's 404 body, not Django's page."""
    body = notify_body(404, [{"error": "NoResultFound", "message": "No result found"}])
    return JsonResponse(body, status=404)
