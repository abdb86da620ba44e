"""Reports in admin: a funnel, trends by day, breakdowns by channel, locale and provider, why
compliance blocked or deferred (in words), and a CSV download. Charts are ``hub.charts``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from hub.charts import Chart, Series, funnel, time_series
from hub.csv_cells import csv_row
from hub.workspace.admin.base import ReadOnlyWorkspaceAdmin
from hub.workspace.admin.journey_reports import journey_report_view
from hub.workspace.admin.operator import operator_view
from hub.workspace.forms import ReportForm
from hub.workspace.models import Report
from hub.workspace.reports import (
    COUNT_FIELDS,
    ReportRow,
    report_build,
    report_rows_per_day,
)
from hub.workspace.reports import (
    Report as ReportData,
)

TREND = (("sent", "Sent"), ("delivered", "Delivered"), ("opened", "Opened"), ("clicked", "Clicked"),
         ("converted", "Converted"))  # fmt: skip
HELD = (("failed", "Failed"), ("blocked", "Blocked"), ("deferred", "Deferred"))


def report_charts(report: ReportData, subject: str) -> dict[str, Chart]:
    """The report's three charts: its funnel, the daily trend, and what did not go out per day."""
    days = [row.day for row in report.daily if row.day is not None]

    def series(fields: tuple[tuple[str, str], ...]) -> list[Series]:
        return [Series(label, [row.counts.get(name, 0) for row in report.daily]) for name, label in fields]

    return {
        "funnel": funnel(title=f"Funnel: {subject}", steps=report.funnel),
        "trend": time_series(title=f"Per day: {subject}", days=days, series=series(TREND)),
        "held": time_series(
            title=f"Failed, blocked and deferred per day: {subject}",
            days=days,
            series=series(HELD),
            kind="bar",
        ),
    }


@admin.register(Report)
class ReportAdmin(ReadOnlyWorkspaceAdmin):
    def get_urls(self) -> list[URLPattern]:
        dashboard = path(
            "operator/",
            self.admin_site.admin_view(lambda request: operator_view(self, request)),
            name="workspace_report_operator",
        )
        journeys = path(
            "journeys/",
            self.admin_site.admin_view(lambda request: journey_report_view(self, request)),
            name="workspace_report_journeys",
        )
        return [dashboard, journeys, *super().get_urls()]

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
        data = form.cleaned_data
        report = report_build(**data)
        subject = " · ".join(
            [data["template"] or "all templates", data["channel"] or "all channels",
             f"{data['date_from']:%Y-%m-%d} to {data['date_to']:%Y-%m-%d}"]
        )  # fmt: skip
        context = self.context(
            request,
            "Reports",
            form=form,
            report=report,
            subject=subject,
            charts=report_charts(report, subject),
            query=request.GET.urlencode(),
        )
        return TemplateResponse(request, "workspace/reports.html", context)


def _csv(rows: Iterable[ReportRow]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rates = ("delivery_rate", "failure_rate", "bounce_rate", "open_rate", "click_rate", "conversion_rate")
    writer.writerow(["day", "template", "channel", *COUNT_FIELDS, *rates, "cost"])
    for row in rows:
        writer.writerow(
            csv_row(
                [
                    row.day,
                    row.template,
                    row.channel,
                    *(row.counts.get(n, 0) for n in COUNT_FIELDS),
                    *("" if getattr(row, r) is None else getattr(row, r) for r in rates),
                    row.cost,
                ]
            )
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="report.csv"'
    return response
