"""DRF authentication by ``Authorization: Bearer <api key>``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import HTTP_HEADER_ENCODING, authentication, exceptions
from rest_framework.request import Request

from hub.api.throttling import bad_key_count_failure, bad_key_refuse_if_blocked, good_key_seen
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_authenticate, apikey_mark_used


def authorization_header(request: Request) -> str:
    """The ``Authorization`` header as DRF's ``get_authorization_header`` reads it (then decoded
    as Latin-1), from ``META``: ``request.headers`` would first copy every header."""
    value = request.META.get("HTTP_AUTHORIZATION", b"")
    if isinstance(value, str):
        value = value.encode(HTTP_HEADER_ENCODING)
    return str(value.decode("latin-1"))


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKey, ApiKey] | None:
        header = authorization_header(request)
        if not header:
            return None
        # Invalid keys are throttled per client address (hub.api.throttling), so keys cannot
        # be guessed quickly; a valid key never uses that budget.
        scheme, _, token = header.partition(" ")
        if scheme == self.keyword and token.strip().count(".") == 2:
            # A GOV.UK Notify client's JWT (a Notify-format key): the same key, so the same
            # notifications, on our own API too (e.g. why a message was blocked).
            from hub.notify.authentication import NotifyJWTAuthentication

            return NotifyJWTAuthentication().authenticate(request)
        token = token.strip()
        parts = token.split("_", 2)
        # The same round trip takes the key's rate token where it can (see the function).
        bad_key_refuse_if_blocked(
            request, prefix=parts[1] if len(parts) == 3 else "", raw=token if scheme == self.keyword else ""
        )
        if scheme != self.keyword or not token:
            bad_key_count_failure(request)
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <api key>'.")
        api_key = apikey_authenticate(raw=token)
        if api_key is None:
            bad_key_count_failure(request)
            raise exceptions.AuthenticationFailed("This API key is not valid or has been revoked.")
        apikey_mark_used(api_key=api_key)
        good_key_seen(request, api_key=api_key)
        return api_key, api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "hub.apikeys.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A Switchboard API key."}
