"""``/admin/``: the home of the viewer's role (``hub.workspace.homes``), not the stock app list.

A user with several roles gets a tab per home (``?home=compliance``); a superuser lands on the
operator's home with the others a tab away; a staff user with no role sees the app list alone.
The list of every page the user may open stays at the bottom of each home. Asking for a home of
a role one does not hold is refused (403), nothing of it is read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.workspace.homes import (
    HOMES,
    compliance_home,
    home_titles,
    homes_of,
    marketer_home,
    operator_home,
    support_home,
)
from hub.workspace.metrics import queue_depths


def _home_data(home: str, request: HttpRequest) -> Any:
    user_id = int(request.user.pk or 0)
    if home == "marketer":
        return marketer_home(user_id=user_id)
    if home == "compliance":
        return compliance_home()
    if home == "support":
        return support_home(user_id=user_id)
    return operator_home(queue_depths=queue_depths())


def home_view(request: HttpRequest) -> HttpResponse:
    homes = homes_of(request.user)
    asked = request.GET.get("home", "")
    if asked and asked not in HOMES:
        home = ""
        status = 404
    elif asked and asked not in homes:
        raise PermissionDenied
    else:
        home, status = asked or (homes[0] if homes else ""), 200
    site = admin.site
    context = {
        **site.each_context(request),
        "title": f"{HOMES[home]} home" if home else site.index_title,
        "subtitle": None,
        "app_list": site.get_app_list(request),
        "home": home,
        "tabs": home_titles(homes),
        "data": _home_data(home, request) if home else None,
    }
    request.current_app = site.name
    return TemplateResponse(request, "workspace/home.html", context, status=status)
