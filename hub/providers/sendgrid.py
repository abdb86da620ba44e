"""Email through SendGrid's official SDK (v3 mail/send).

Our message id travels in ``custom_args`` so that the event webhook can find the message;
marketing mail carries ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058). When a
broadcast sends the same content to many people, one request carries up to 1,000
personalizations. ``SENDGRID_API_HOST`` is honoured (EU region, a proxy, a test double).
"""

from __future__ import annotations

import json
import socket
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from hub.providers.base import (
    OutboundMessage,
    Provider,
    SendResult,
    email_message_id,
    error_for_status,
    list_unsubscribe_headers,
)
from hub.providers.errors import PermanentProviderError, ProviderError, RetryableProviderError

SENDGRID_API_HOST = "https://api.sendgrid.com"
MAX_PERSONALIZATIONS = 1000
# The custom_args key SendGrid echoes back on every event about the message.
MESSAGE_ID_ARG = "hub_message_id"


def map_sendgrid_error(exc: HTTPError) -> ProviderError:
    """SendGrid has no vendor codes beyond the HTTP status; its ``errors`` list says what is wrong."""
    status = int(getattr(exc, "status_code", 0) or 0)
    headers = dict(getattr(exc, "headers", None) or {})
    try:
        errors = json.loads(exc.body or b"{}").get("errors", [])
    except (TypeError, ValueError, AttributeError):
        errors = []
    detail = "; ".join(f"{e.get('field') or '-'}: {e.get('message', '')}" for e in errors)[:400]
    if status == 400 and any(str(e.get("field") or "").endswith(".email") for e in errors):
        return PermanentProviderError(f"SendGrid 400: {detail}", code="invalid_address", http_status=400)
    return error_for_status("SendGrid", status, detail=detail, headers=headers)


class SendGridEmailProvider(Provider):
    channel = "email"
    vendor = "SendGrid"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.from_email: str = self.options["from_email"]
        self.from_name: str = self.options.get("from_name", "")
        self.client = SendGridAPIClient(
            api_key=self.options["api_key"], host=self.options.get("api_host") or SENDGRID_API_HOST
        )
        # The SDK's HTTP client waits forever unless told otherwise.
        self.client.client.timeout = self.timeout

    def _personalization(self, message: OutboundMessage) -> dict[str, Any]:
        personalization: dict[str, Any] = {
            "to": [{"email": message.to}],
            "custom_args": {MESSAGE_ID_ARG: message.message_id},
        }
        # Our own Message-ID, per recipient: a reply names it in In-Reply-To / References.
        personalization["headers"] = {
            "Message-ID": email_message_id(message.message_id),
            **list_unsubscribe_headers(message),
        }
        return personalization

    def _body(self, messages: Sequence[OutboundMessage]) -> dict[str, Any]:
        first = messages[0]
        content = [{"type": "text/plain", "value": first.content.get("text", "")}]
        if first.content.get("html"):
            content.append({"type": "text/html", "value": first.content["html"]})
        sender: dict[str, str] = {"email": self.from_email}
        if self.from_name:
            sender["name"] = self.from_name
        categories = [first.category, str(first.metadata.get("template", ""))]
        body: dict[str, Any] = {
            "personalizations": [self._personalization(m) for m in messages],
            "from": sender,
            "subject": first.content.get("subject", ""),
            "content": content,
            "categories": [c[:255] for c in categories if c],
        }
        if reply_to := first.metadata.get("reply_to", ""):
            body["reply_to"] = {"email": reply_to}  # the same for the whole request (send_many)
        return body

    def _post(self, messages: Sequence[OutboundMessage]) -> SendResult:
        try:
            response = self.client.client.mail.send.post(request_body=self._body(messages))
        except HTTPError as exc:
            raise map_sendgrid_error(exc) from exc
        except URLError as exc:
            if isinstance(exc.reason, socket.timeout | TimeoutError):
                raise RetryableProviderError("SendGrid did not answer in time", code="timeout") from exc
            raise RetryableProviderError(f"SendGrid unreachable: {exc.reason}", code="network") from exc
        headers: Mapping[str, str] = response.headers or {}
        return SendResult(provider_message_id=str(headers.get("X-Message-Id", ""))[:64])

    def _send(self, message: OutboundMessage) -> SendResult:
        return self._post([message])

    def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult | ProviderError]:
        """Messages with identical content, category and Reply-To share one request (≤1,000
        recipients).

        If SendGrid refuses a shared request as a whole (400), each message is tried on its own
        so that one bad address fails only its own message.
        """
        groups: dict[str, list[int]] = defaultdict(list)
        for index, message in enumerate(messages):
            key = json.dumps(
                [message.category, dict(message.content), message.metadata.get("reply_to", "")],
                sort_keys=True,
            )
            groups[key].append(index)
        results: list[SendResult | ProviderError | None] = [None] * len(messages)
        for indexes in groups.values():
            for start in range(0, len(indexes), MAX_PERSONALIZATIONS):
                chunk = indexes[start : start + MAX_PERSONALIZATIONS]
                if len(chunk) == 1:
                    results[chunk[0]] = self._try(messages[chunk[0]])
                    continue
                outcome = self._try_batch([messages[i] for i in chunk])
                if isinstance(outcome, PermanentProviderError) and outcome.http_status == 400:
                    for i in chunk:
                        results[i] = self._try(messages[i])
                else:
                    for i in chunk:
                        results[i] = outcome
        return [r for r in results if r is not None]

    def _try(self, message: OutboundMessage) -> SendResult | ProviderError:
        try:
            return self.send(message)
        except ProviderError as exc:
            return exc

    def _try_batch(self, messages: Sequence[OutboundMessage]) -> SendResult | ProviderError:
        try:
            return self._post(messages)
        except ProviderError as exc:
            return exc
