"""The hosted unsubscribe and preferences page, ``/u/{token}`` (no login; the token is signed).

* ``POST /u/{token}`` with ``List-Unsubscribe=One-Click`` is RFC 8058 one-click: it needs no
  cookie and no CSRF token (mail clients send it blind), so only this view is csrf_exempt.
* ``GET /u/{token}`` never changes anything (link scanners fetch it): it shows a confirm
  button and the preferences, in the contact's locale.
* ``POST /u/{token}/preferences`` is the page's own form, CSRF-protected as usual.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import Actor
from hub.client_address import client_address
from hub.contacts.models import Contact
from hub.contacts.page_texts import page_texts
from hub.contacts.preferences import (
    CATEGORIES,
    CHANNELS,
    Preference,
    UnsubscribeScope,
    one_click_unsubscribe,
    preferences_get,
    preferences_set,
    unsubscribe_token_read,
)
from hub.messaging.reports import message_unsubscribed_record


def _shown_checked(preference: Preference) -> bool:
    """Marketing is ticked only with recorded consent (never pre-ticked); service messages are
    ticked unless withdrawn."""
    if preference.granted is None:
        return preference.category == "transactional"
    return preference.granted


def _evidence(request: HttpRequest, **extra: str) -> dict[str, str]:
    return {
        "ip": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "wording_version": settings.HUB_PREFERENCES_WORDING,
        **extra,
    }


def _resolve(token: str) -> tuple[UnsubscribeScope, Contact] | None:
    scope = unsubscribe_token_read(token)
    if scope is None:
        return None
    contact = Contact.objects.filter(pk=scope.contact_id).first()
    return (scope, contact) if contact is not None else None


def _gone(request: HttpRequest) -> HttpResponse:
    language, texts = page_texts(request.headers.get("Accept-Language", ""))
    context = {"language": language, "message": texts["gone"]}
    return TemplateResponse(request, "public/link_invalid.html", context, status=404)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    resolved = _resolve(token)
    if resolved is None:
        return _gone(request)
    scope, contact = resolved
    if request.method == "POST":
        if request.POST.get("List-Unsubscribe") != "One-Click":
            return HttpResponse(
                "Send List-Unsubscribe=One-Click.", status=400, content_type="text/plain; charset=utf-8"
            )
        one_click_unsubscribe(scope=scope, contact=contact, evidence=_evidence(request, rfc="8058"))
        message_unsubscribed_record(message_id=scope.message_id)
        return HttpResponse("Unsubscribed.", content_type="text/plain; charset=utf-8")
    return _page(request, token, scope, contact, saved=request.GET.get("saved") == "1")


def _page(
    request: HttpRequest, token: str, scope: UnsubscribeScope, contact: Contact, *, saved: bool
) -> HttpResponse:
    language, texts = page_texts(contact.locale)
    current = preferences_get(contact=contact)
    state = {(p.category, p.channel): p.granted for p in current}
    shown = {(p.category, p.channel): _shown_checked(p) for p in current}
    rows = [
        {
            "category": cat,
            "label": texts[cat],
            "cells": [
                {"name": f"{cat}:{ch}", "label": texts[ch], "checked": shown[(cat, ch)]} for ch in CHANNELS
            ],
        }
        for cat in CATEGORIES
    ]
    where = texts[scope.channel] if scope.channel else texts["all"]
    context = {
        "language": language,
        "texts": texts,
        "token": token,
        "rows": rows,
        "saved": saved,
        "confirm": texts["confirm"].format(category=texts[scope.category], channel=where),
        "done": all(
            state[(scope.category, ch)] is False for ch in ((scope.channel,) if scope.channel else CHANNELS)
        ),
        "done_text": texts["done"].format(category=texts[scope.category], channel=where),
    }
    response = render(request, "contacts/preferences.html", context)
    response["Content-Language"] = language
    return response


@require_POST
def preferences_page_save(request: HttpRequest, token: str) -> HttpResponse:
    """The page's form: the confirm button, or the whole preferences grid."""
    resolved = _resolve(token)
    if resolved is None:
        return _gone(request)
    scope, contact = resolved
    if "confirm" in request.POST:
        channels = (scope.channel,) if scope.channel else CHANNELS
        choices = {(scope.category, ch): False for ch in channels}
    else:
        # Only what the person changed on the page: an untouched box records nothing.
        shown = {(p.category, p.channel): _shown_checked(p) for p in preferences_get(contact=contact)}
        ticked = {(cat, ch): f"{cat}:{ch}" in request.POST for cat in CATEGORIES for ch in CHANNELS}
        choices = {key: value for key, value in ticked.items() if value != shown[key]}
    preferences_set(
        contact=contact,
        choices=choices,
        source="preference_page",
        actor=Actor.system(),
        evidence=_evidence(request),
    )
    if "confirm" in request.POST:
        message_unsubscribed_record(message_id=scope.message_id)
    return HttpResponseRedirect(f"{request.path.removesuffix('/preferences')}?saved=1")
