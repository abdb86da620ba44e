"""DRF authentication for ``/v2/``: Notify's ``Authorization: Bearer <JWT>``."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication
from rest_framework.request import Request

from hub.api.throttling import bad_key_count_failure, bad_key_refuse_if_blocked, good_key_seen
from hub.apikeys.authentication import authorization_header
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_mark_used
from hub.notify.errors import NotifyError
from hub.notify.keys import NotifyAuthError, notify_key_authenticate


def _auth_error(exc: NotifyAuthError) -> NotifyError:
    return NotifyError(exc.status, "AuthError", exc.message)


class NotifyJWTAuthentication(authentication.BaseAuthentication):
    """A request signed as Notify's clients sign it. Invalid tokens use the same per-address
    budget as invalid Switchboard keys (hub.api.throttling), so secrets cannot be guessed
    quickly; a failure is Notify's ``AuthError`` with Notify's message."""

    def authenticate(self, request: Request) -> tuple[ApiKey, ApiKey]:
        header = authorization_header(request)
        bad_key_refuse_if_blocked(request, prefix="")
        if not header:
            raise _auth_error(NotifyAuthError("Unauthorized: authentication token must be provided", 401))
        if header[:7].title() != "Bearer ":
            bad_key_count_failure(request)
            raise _auth_error(NotifyAuthError("Unauthorized: authentication bearer scheme must be used", 401))
        try:
            notify_key = notify_key_authenticate(token=header[7:].strip())
        except NotifyAuthError as exc:
            bad_key_count_failure(request)
            raise _auth_error(exc) from exc
        api_key = notify_key.api_key
        api_key.notify_key = notify_key  # the reverse side, already loaded
        apikey_mark_used(api_key=api_key)
        good_key_seen(request, api_key=api_key)
        return api_key, api_key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


def request_api_key(request: Any) -> ApiKey:
    """The key that authenticated this ``/v2/`` request."""
    assert isinstance(request.auth, ApiKey)  # noqa: S101 - every /v2/ view requires one
    return request.auth
