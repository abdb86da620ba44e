"""Web Push (RFC 8030/8291/8292) through pywebpush, signed with our VAPID key.

Every push carries an explicit TTL (how long the push service may hold it) and every call a
timeout. A 404 or 410 from the push service means the subscription is gone: the device is
removed and never tried again.
"""

from __future__ import annotations

import json
from typing import Any

from pywebpush import WebPushException, webpush

from hub.providers.base import OutboundMessage, Provider, SendResult, error_for_status
from hub.providers.errors import PermanentProviderError, ProviderError


def map_webpush_error(exc: WebPushException) -> ProviderError:
    response = exc.response
    if response is None:
        return PermanentProviderError(f"Web Push: {exc.message}"[:500], code="encoding")
    status = int(response.status_code)
    if status in (404, 410):
        return PermanentProviderError(
            f"Web Push {status}: subscription gone", code=str(status), http_status=status, remove_device=True
        )
    if status == 413:
        return PermanentProviderError("Web Push 413: payload too large", code="413", http_status=413)
    return error_for_status("Web Push", status, detail=response.reason or "", headers=dict(response.headers))


class WebPushProvider(Provider):
    channel = "push"
    vendor = "Web Push"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.vapid_private_key: str = self.options["vapid_private_key"]
        self.vapid_subject: str = self.options["vapid_subject"]
        self.ttl_seconds = int(self.options.get("ttl_seconds", 86400))

    def accepts(self, message: OutboundMessage) -> bool:
        return str(message.metadata.get("device_kind", "")) == "webpush"

    def _send(self, message: OutboundMessage) -> SendResult:
        subscription = dict(message.metadata.get("subscription") or {})
        payload = json.dumps(
            {
                "message_id": message.message_id,
                "title": message.content.get("title", ""),
                "body": message.content.get("text", ""),
                "link": message.content.get("link", ""),
                "receipt_url": message.metadata.get("receipt_url", ""),
            }
        )
        try:
            response = webpush(
                subscription_info=subscription,
                data=payload,
                vapid_private_key=self.vapid_private_key,
                # A fresh dict each time: pywebpush writes aud and exp into it.
                vapid_claims={"sub": self.vapid_subject},
                ttl=self.ttl_seconds,
                timeout=self.timeout,
                requests_session=self.session,
            )
        except WebPushException as exc:
            raise map_webpush_error(exc) from exc
        location = str(getattr(response, "headers", {}).get("Location", ""))
        return SendResult(provider_message_id=(location.rsplit("/", 1)[-1] or message.message_id)[:64])
