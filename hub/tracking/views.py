"""``GET /l/{token}`` (a tracked link) and ``GET /o/{token}`` (an email's open pixel): no login,
the token is signed. Thin: ``hub.tracking.services`` decides and records."""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from hub.client_address import client_address
from hub.tracking.services import link_follow, pixel_fetch

# The smallest transparent GIF (1x1).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_http_methods(["GET", "HEAD"])
def link_redirect(request: HttpRequest, token: str) -> HttpResponse:
    url = link_follow(
        token=token,
        user_agent=request.headers.get("User-Agent", ""),
        ip=client_address(request),
        method=request.method or "GET",
    )
    if url is None:
        return _private(render(request, "tracking/invalid_link.html", status=404))
    return _private(HttpResponseRedirect(url))


@require_http_methods(["GET"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    pixel_fetch(
        token=token,
        user_agent=request.headers.get("User-Agent", ""),
        ip=client_address(request),
    )
    # The same image whatever the token: a mail client shows nothing either way.
    return _private(HttpResponse(PIXEL, content_type="image/gif"))
