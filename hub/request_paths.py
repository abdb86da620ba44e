"""The browser's middleware, passed by on the API's paths.

A request to the API (``/api/v1/``, and GOV.UK Notify's ``/v2/``) carries an API key in a
header and JSON both ways: static files, the session, the signed-in user and the admin's
messages do nothing for it, yet each of their middleware cost every API request its own calls
(issue 16: per-request overhead is most of what separates the API from the bare floor). So
MIDDLEWARE names most of them through a subclass here that hands an API request straight on,
and does all it did before for every other path (the admin, the public pages), in the same
order.

What every response needs stays on every path: SecurityMiddleware's headers (HSTS, nosniff,
Referrer-Policy, COOP, the HTTPS redirect), CommonMiddleware (ALLOWED_HOSTS, Content-Length),
X-Frame-Options. So do CsrfViewMiddleware and SessionMiddleware, by their own names, which
``check --deploy`` looks for (W003, W012: a subclass would hide a cookie setting left
insecure); on the API they only look for a cookie (the views are csrf_exempt, and the session
is made lazily and never read there).

Subclasses rather than one middleware that runs the others itself: Django keeps each one's
hooks (the CSRF check is a ``process_view``) and the admin's system checks find the classes
they require; a pass-by costs one call and one prefix test per middleware.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest
from whitenoise.middleware import WhiteNoiseMiddleware  # type: ignore[import-untyped]

# Matched against ``path_info``, the path the URL resolver routes.
API_PATHS = ("/api/v1/", "/v2/")


class _BrowserOnly:
    get_response: Any

    def __call__(self, request: HttpRequest) -> Any:
        if request.path_info.startswith(API_PATHS):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class BrowserWhiteNoiseMiddleware(_BrowserOnly, WhiteNoiseMiddleware):
    """Static files (only ever under STATIC_URL)."""


class BrowserAuthenticationMiddleware(_BrowserOnly, AuthenticationMiddleware):
    """``request.user`` (DRF sets it on an API request from the key that authenticated)."""


class BrowserMessageMiddleware(_BrowserOnly, MessageMiddleware):
    """The admin's one-time messages."""
