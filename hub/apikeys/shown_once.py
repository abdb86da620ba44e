"""The one page that shows a new secret (an API key) exactly once, in the response to the form
that created it: never in a redirect, a message cookie or a cache."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

ATTRIBUTE = "_switchboard_secret_shown_once"


def secret_remember(request: HttpRequest, *, title: str, secret: str, usage: str = "") -> None:
    """Keep a just-issued secret on this request only, for ``secret_response``."""
    setattr(request, ATTRIBUTE, {"title": title, "secret": secret, "usage": usage})


def secret_response(
    request: HttpRequest, *, continue_url: str, context: dict[str, object]
) -> HttpResponse | None:
    """The page showing the secret remembered on this request, or None if there is none."""
    shown = getattr(request, ATTRIBUTE, None)
    if shown is None:
        return None
    response = TemplateResponse(
        request, "apikeys/secret_once.html", {**context, **shown, "continue_url": continue_url}
    )
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    return response
