"""GET /api/v1/reports/templates/{key}: how a template performs, by channel and in total, over
``from``/``to`` dates (SPEC §4), for BI tools and calling services. The figures are the admin
report's (``hub.workspace.reports``), read from the rollups."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.problems import Problem
from hub.api.schema import problems
from hub.api.serializers import StrictSerializer
from hub.api.templates import scope_filters
from hub.api.views import request_api_key
from hub.workspace.reports import Report, ReportPeriodRefused, ReportRow, report_period, template_report

FIGURES = ("accepted", "sent", "delivered", "failed", "bounced", "blocked", "deferred", "opened", "clicked",
           "unsubscribed", "complained", "converted", "machine_opens", "machine_clicks", "segments")  # fmt: skip


class ReportQuerySerializer(StrictSerializer):
    # "from" is a Python keyword: declared through the class namespace under its wire name.
    vars()["from"] = serializers.DateField(required=False)
    to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            date_from, date_to = report_period(
                date_from=attrs.get("from"), date_to=attrs.get("to"), today=timezone.now().date()
            )
        except ReportPeriodRefused as exc:
            # Dates the schema allows, refused on their meaning: 422 (code date_range).
            field = {"date_from": "from", "date_to": "to"}[exc.field]
            raise serializers.ValidationError({field: str(exc)}, code="date_range") from None
        return {"date_from": date_from, "date_to": date_to}


class FiguresSerializer(serializers.Serializer[Any]):
    accepted = serializers.IntegerField(help_text="Messages compliance decided on (left `accepted`).")
    sent = serializers.IntegerField(help_text="Handed to a provider.")
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed or undelivered.")
    bounced = serializers.IntegerField()
    blocked = serializers.IntegerField(help_text="Blocked by compliance (see `reasons`).")
    deferred = serializers.IntegerField(help_text="Deferred by compliance (see `reasons`).")
    opened = serializers.IntegerField(help_text="Opens by people (machine opens are apart).")
    clicked = serializers.IntegerField(help_text="Clicks by people (link scanners' clicks are apart).")
    unsubscribed = serializers.IntegerField()
    complained = serializers.IntegerField()
    converted = serializers.IntegerField(help_text="Goal events within the attribution window.")
    machine_opens = serializers.IntegerField(help_text="Opens by privacy proxies.")
    machine_clicks = serializers.IntegerField(help_text="Clicks by link scanners.")
    segments = serializers.IntegerField(help_text="SMS segments handed to providers.")
    cost = serializers.DecimalField(max_digits=14, decimal_places=4, coerce_to_string=True)


class ChannelFiguresSerializer(FiguresSerializer):
    channel = serializers.ChoiceField(choices=("sms", "email", "push"))


class ReasonSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=("blocked", "deferred"))
    reason = serializers.CharField(
        help_text="A block reason code (SPEC §3) or the kind of rule that deferred."
    )
    description = serializers.CharField(help_text="The reason in words.")
    count = serializers.IntegerField()


class TemplateReportSerializer(serializers.Serializer[Any]):
    template = serializers.CharField()
    date_from = serializers.DateField(help_text="First day (UTC), included.")
    date_to = serializers.DateField(help_text="Last day (UTC), included.")
    total = FiguresSerializer()
    channels = ChannelFiguresSerializer(many=True)
    reasons = ReasonSerializer(many=True)


def _figures(row: ReportRow) -> dict[str, Any]:
    return {**{name: row.counts.get(name, 0) for name in FIGURES}, "cost": row.cost}


def _body(key: str, query: dict[str, date], report: Report) -> dict[str, Any]:
    return {
        "template": key,
        "date_from": query["date_from"],
        "date_to": query["date_to"],
        "total": _figures(report.total),
        "channels": [{"channel": row.channel, **_figures(row)} for row in report.channels],
        "reasons": [
            {"outcome": r.outcome, "reason": r.code, "description": r.words, "count": r.count}
            for r in report.reasons
        ],
    }


EXAMPLE_FIGURES = {"accepted": 1200, "sent": 1150, "delivered": 1120, "failed": 30, "bounced": 4, "blocked": 40,
                   "deferred": 10, "opened": 610, "clicked": 180, "unsubscribed": 3, "complained": 1,
                   "converted": 42, "machine_opens": 95, "machine_clicks": 12, "segments": 0,
                   "cost": "0.0000"}  # fmt: skip


class TemplateReportView(APIView):
    required_capability = "read"

    @extend_schema(
        operation_id="reports_templates_retrieve",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="First day (UTC); default 29 days before `to`."
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, description="Last day (UTC); default today. At most 366 days."
            ),
        ],
        responses={200: TemplateReportSerializer, **problems(400, 401, 403, 404, 422, 429)},
        summary="How a template performs, by channel and in total",
        description=(
            "Counts from the reports' rollups over whole UTC days: accepted, sent, delivered, failed, "
            "blocked and deferred (with their reasons), opens and clicks by people with machine opens "
            "and clicks apart, unsubscribes, complaints, conversions and cost. Needs the `read` scope; "
            "a key limited to some templates or categories sees only those (404 for the others)."
        ),
        examples=[
            OpenApiExample(
                "A week of a template",
                response_only=True,
                value={
                    "template": "order.shipped",
                    "date_from": "2026-11-01",
                    "date_to": "2026-11-07",
                    "total": EXAMPLE_FIGURES,
                    "channels": [{"channel": "email", **EXAMPLE_FIGURES}],
                    "reasons": [
                        {
                            "outcome": "blocked",
                            "reason": "no_consent",
                            "description": "No consent",
                            "count": 40,
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request: Request, key: str) -> Response:
        query_serializer = ReportQuerySerializer(data=request.query_params.dict())
        query_serializer.is_valid(raise_exception=True)
        query: dict[str, date] = query_serializer.validated_data
        scopes = scope_filters(request_api_key(request))
        report = template_report(
            key=key,
            date_from=query["date_from"],
            date_to=query["date_to"],
            categories=scopes["categories"],
            keys=scopes["keys"],
        )
        if report is None:
            raise Problem(
                status_code=404,
                code="not_found",
                title="Not found",
                detail="No template with this key is visible to this API key.",
                field="key",
            )
        return Response(TemplateReportSerializer(_body(key, query, report)).data)
