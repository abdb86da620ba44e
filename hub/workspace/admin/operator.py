"""The operator's dashboard in admin: queue depths, provider health over a chosen window, stale
workers, failing callbacks, and a banner while any channel sends to the sandbox. Figures come
from ``hub.workspace.operator``; the page is hung on the reports admin (``/admin/workspace/
report/operator/``) and opens for whoever may see callback deliveries and reports (Operator)."""

from __future__ import annotations

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.workspace.operator import WINDOWS, dashboard_build

OPERATOR_PERMISSIONS = ("workspace.view_report", "callbacks.view_callbackdelivery")


def operator_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:  # type: ignore[type-arg]
    if not request.user.has_perms(OPERATOR_PERMISSIONS):
        raise PermissionDenied
    window = request.GET.get("window", "1h")
    status = 200
    if window not in WINDOWS:
        window, status = "1h", 400
    dashboard = dashboard_build(window=window)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Operator dashboard",
        "opts": model_admin.model._meta,
        "dashboard": dashboard,
        "windows": list(WINDOWS),
        "bad_window": status == 400,
    }
    return TemplateResponse(request, "workspace/operator.html", context, status=status)
