"""Reports in admin: per template, channel and day, a bar chart of each day, CSV download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.workspace.admin.base import ReadOnlyWorkspaceAdmin
from hub.workspace.forms import ReportForm
from hub.workspace.models import Report
from hub.workspace.reports import COUNT_FIELDS, ReportRow, report_build, report_rows_per_day

CHART_HEIGHT = 120


def _chart(daily: list[ReportRow]) -> list[dict[str, Any]]:
    """Bars (sent, delivered, failed) per day, scaled to the busiest day."""
    peak = max([row.counts.get("sent", 0) for row in daily] + [1])
    bars = []
    for index, row in enumerate(daily):
        bar: dict[str, Any] = {"x": index * 14, "day": row.day}
        for name in ("sent", "delivered", "failed"):
            value = row.counts.get(name, 0)
            bar[name] = value
            bar[f"{name}_h"] = round(CHART_HEIGHT * value / peak)
        bars.append(bar)
    return bars


@admin.register(Report)
class ReportAdmin(ReadOnlyWorkspaceAdmin):
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReportForm(request.GET)
        if not form.is_valid():
            context = self.context(request, "Reports", form=form, report=None)
            return TemplateResponse(request, "workspace/reports.html", context, status=400)
        if request.GET.get("format") == "csv":
            return _csv(report_rows_per_day(**form.cleaned_data))
        report = report_build(**form.cleaned_data)
        context = self.context(
            request,
            "Reports",
            form=form,
            report=report,
            bars=_chart(report.daily),
            chart_width=len(report.daily) * 14,
            chart_height=CHART_HEIGHT,
            query=request.GET.urlencode(),
        )
        return TemplateResponse(request, "workspace/reports.html", context)


def _csv(rows: Iterable[ReportRow]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rates = ("delivery_rate", "failure_rate", "bounce_rate", "open_rate", "click_rate")
    writer.writerow(["day", "template", "channel", *COUNT_FIELDS, *rates, "cost"])
    for row in rows:
        writer.writerow(
            [
                row.day,
                row.template,
                row.channel,
                *(row.counts.get(n, 0) for n in COUNT_FIELDS),
                *("" if getattr(row, r) is None else getattr(row, r) for r in rates),
                row.cost,
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="report.csv"'
    return response
