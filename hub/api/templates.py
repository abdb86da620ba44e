"""GET /api/v1/templates: the live templates a key may send, with their variables."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.apikeys.models import ApiKey
from templates_app.selectors import templates_live

VARIABLE_TYPES = ("string", "number", "date", "datetime", "money", "url", "boolean")


class TemplateVariableSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=VARIABLE_TYPES)
    # The output key must be "required"; it shadows Field.required only in the type stubs.
    required = serializers.BooleanField()  # type: ignore[assignment]
    example = serializers.JSONField(help_text="A value of the declared type, as you would send it in `data`.")
    description = serializers.CharField(allow_blank=True)


class TemplateSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Send it as `template` in POST /api/v1/notifications.")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    category = serializers.ChoiceField(choices=("transactional", "marketing"))
    version = serializers.IntegerField(help_text="The live version's number.")
    channels = serializers.ListField(child=serializers.ChoiceField(choices=("sms", "email", "push")))
    locales = serializers.ListField(child=serializers.CharField())
    default_locale = serializers.CharField()
    variables = TemplateVariableSerializer(many=True)


class TemplateListSerializer(serializers.Serializer[Any]):
    results = TemplateSerializer(many=True)


EXAMPLE = {
    "results": [
        {
            "key": "payment.due",
            "name": "Payment due reminder",
            "description": "Sent by loans three days before a payment is due.",
            "category": "transactional",
            "version": 3,
            "channels": ["sms", "email", "push"],
            "locales": ["en", "fr"],
            "default_locale": "en",
            "variables": [
                {
                    "name": "amount",
                    "type": "money",
                    "required": True,
                    "example": {"amount": "129.90", "currency": "GBP"},
                    "description": "",
                },
                {
                    "name": "due_date",
                    "type": "date",
                    "required": True,
                    "example": "2026-06-01",
                    "description": "",
                },
                {
                    "name": "first_name",
                    "type": "string",
                    "required": True,
                    "example": "Ada",
                    "description": "",
                },
                {
                    "name": "pay_url",
                    "type": "url",
                    "required": True,
                    "example": "https://bank.example/pay/123",
                    "description": "",
                },
            ],
        }
    ]
}


def scope_filters(api_key: ApiKey) -> dict[str, list[str] | None]:
    """``category:X`` and ``template:K`` scopes narrow what a key sees (none: everything)."""
    scopes = [str(s) for s in api_key.scopes or []]
    categories = [s.split(":", 1)[1] for s in scopes if s.startswith("category:")]
    keys = [s.split(":", 1)[1] for s in scopes if s.startswith("template:")]
    return {"categories": categories or None, "keys": keys or None}


class TemplateListView(APIView):
    @extend_schema(
        operation_id="templates_list",
        responses={
            200: TemplateListSerializer,
            401: OpenApiResponse(description="A problem+json error (RFC 9457) with a stable `code`."),
        },
        summary="Live templates this key may send, with their variables",
        description=(
            "Each live template with its channels, locales and declared variables: name, type "
            "(string, number, date, datetime, money, url, boolean), whether it is required, and an "
            "example value as it must appear in `data`. A send with a missing or mistyped variable "
            "is refused with `invalid_data` naming it (`field`: `data.<name>`)."
        ),
        examples=[OpenApiExample("Live templates", value=EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        assert isinstance(request.auth, ApiKey)  # noqa: S101 - guaranteed by IsAuthenticated
        templates = templates_live(**scope_filters(request.auth))
        return Response(TemplateListSerializer({"results": [asdict(t) for t in templates]}).data)
