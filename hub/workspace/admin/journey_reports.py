"""Journey reports in admin (issue 17 point 8): choose a journey version, read its runs'
outcomes and each step's figures, with a funnel chart (``hub.journeys.reports``)."""

from __future__ import annotations

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.charts import funnel
from hub.journeys.models import JourneyVersion
from hub.journeys.reports import journey_report


def journey_report_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:  # type: ignore[type-arg]
    if not request.user.has_perm("journeys.view_journeyversion"):
        raise PermissionDenied
    versions = list(
        JourneyVersion.objects.select_related("journey").order_by("journey__key", "-number")[:500]
    )
    chosen = request.GET.get("version", "")
    version = next((v for v in versions if str(v.pk) == chosen), None)
    status = 200
    if chosen and version is None:
        status = 400
    elif version is None and versions:
        version = versions[0]
    report = journey_report(version=version) if version is not None else None
    chart = (
        funnel(title=f"Runs of {version.journey.key} v{version.number}", steps=report.funnel)
        if report is not None and version is not None
        else None
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Journey reports",
        "opts": model_admin.model._meta,
        "versions": versions,
        "version": version,
        "report": report,
        "chart": chart,
        "bad_version": status == 400,
    }
    return TemplateResponse(request, "workspace/journey_report.html", context, status=status)
