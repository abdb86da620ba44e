"""The fixed shape of a webhook view: POST only, no CSRF (the vendor's signature is the
authentication), refuse with 403 anything unsigned, forged or stale, before reading it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

logger = logging.getLogger("hub.webhooks")

WebhookView = Callable[..., HttpResponse]


class SignatureInvalid(Exception):
    """The request is not provably from the vendor. The message says why (no personal data)."""


def webhook(vendor: str) -> Callable[[WebhookView], WebhookView]:
    """Wrap a view: POST only, CSRF-exempt, SignatureInvalid → 403 and nothing changes."""

    def decorate(view: WebhookView) -> WebhookView:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except SignatureInvalid as exc:
                logger.warning("webhook=%s refused: %s", vendor, exc)
                return HttpResponse(f"Forbidden: {exc}", status=403, content_type="text/plain")

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return csrf_exempt(require_POST(wrapped))

    return decorate
