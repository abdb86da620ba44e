"""Push through Firebase Cloud Messaging HTTP v1.

Credentials are a service-account JSON file (``FCM_CREDENTIALS_FILE``); google-auth signs the
JWT assertion and exchanges it at the file's own ``token_uri`` (so a proxy or a test double
works), and the access token is cached until shortly before it expires. ``FCM_API_BASE_URL``
points the API elsewhere. Errors are mapped by FCM's ``errorCode`` first, HTTP status second.
"""

from __future__ import annotations

import threading
from typing import Any

import google.auth.exceptions
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from hub.providers.base import OutboundMessage, Provider, SendResult, error_for_status, retry_after_seconds
from hub.providers.errors import (
    PermanentProviderError,
    ProviderConfigurationError,
    ProviderError,
    RetryableProviderError,
)

FCM_API_BASE_URL = "https://fcm.googleapis.com"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"

# FCM's errorCode → what it means for us. Unknown codes fall back to the HTTP status table.
REMOVE_DEVICE_CODES = frozenset({"UNREGISTERED"})
PERMANENT_CODES = frozenset({"INVALID_ARGUMENT", "SENDER_ID_MISMATCH"})
RETRYABLE_CODES = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})
CONFIGURATION_CODES = frozenset({"THIRD_PARTY_AUTH_ERROR", "PERMISSION_DENIED", "UNAUTHENTICATED"})


def map_fcm_error(status: int, body: Any, headers: dict[str, str]) -> ProviderError:
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = ""
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            code = str(detail["errorCode"])
    code = code or str(error.get("status", ""))
    text = f"FCM {status} {code}: {error.get('message', '')}"[:500]
    if code in REMOVE_DEVICE_CODES or status == 404:
        return PermanentProviderError(text, code=code or "404", http_status=status, remove_device=True)
    if code in CONFIGURATION_CODES or status == 401:
        return ProviderConfigurationError(text, code=code or str(status), http_status=status)
    if code in RETRYABLE_CODES:
        return RetryableProviderError(
            text, code=code, http_status=status, retry_after=retry_after_seconds(headers)
        )
    if code in PERMANENT_CODES:
        return PermanentProviderError(text, code=code, http_status=status)
    return error_for_status("FCM", status, code=code, detail=str(error.get("message", "")), headers=headers)


class FcmPushProvider(Provider):
    channel = "push"
    vendor = "FCM"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            self.options["credentials_file"], scopes=[FCM_SCOPE]
        )
        self.project_id: str = self.options.get("project_id") or self.credentials.project_id
        self.api_base_url = (self.options.get("api_base_url") or FCM_API_BASE_URL).rstrip("/")
        self.ttl_seconds = int(self.options.get("ttl_seconds", 86400))
        self._token_lock = threading.Lock()

    def accepts(self, message: OutboundMessage) -> bool:
        return str(message.metadata.get("device_kind", "fcm")) == "fcm"

    def access_token(self) -> str:
        """A valid OAuth access token; fetched from ``token_uri`` only when none is cached."""
        with self._token_lock:
            if not bool(self.credentials.valid):
                try:
                    self.credentials.refresh(Request(self.session))
                except google.auth.exceptions.TransportError as exc:
                    raise RetryableProviderError(
                        "FCM token endpoint unreachable", code="token_network"
                    ) from exc
                except google.auth.exceptions.RefreshError as exc:
                    raise ProviderConfigurationError(
                        f"FCM refused our service account: {exc}", code="token_refused"
                    ) from exc
            return str(self.credentials.token)

    def _send(self, message: OutboundMessage) -> SendResult:
        content = message.content
        data = {"message_id": message.message_id}
        if content.get("link"):
            data["link"] = content["link"]
        if message.metadata.get("receipt_url"):
            data["receipt_url"] = str(message.metadata["receipt_url"])
        body = {
            "message": {
                "token": message.to,
                "notification": {"title": content.get("title", ""), "body": content.get("text", "")},
                "data": data,
                "android": {"ttl": f"{self.ttl_seconds}s"},
            }
        }
        response = self.http(
            "POST",
            f"{self.api_base_url}/v1/projects/{self.project_id}/messages:send",
            json=body,
            headers={"Authorization": f"Bearer {self.access_token()}"},
        )
        if response.status_code == 401:
            # The cached token may have been revoked: the next call fetches a new one.
            self.credentials.token = None
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            raise map_fcm_error(response.status_code, payload, dict(response.headers))
        name = str(response.json().get("name", ""))
        return SendResult(provider_message_id=name.rsplit("/", 1)[-1][:64])
