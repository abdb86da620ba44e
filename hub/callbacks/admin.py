"""Callback endpoints (resume, rotate the secret) and the delivery log; a suspended endpoint
is an alert at the top of both lists."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db import models
from django.db.models import Field, QuerySet
from django.http import HttpRequest, HttpResponse

from audit.admin_base import labelled_json
from audit.services import Actor
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint
from hub.callbacks.services import callback_endpoint_resume, callback_endpoint_rotate_secret


def _alert_suspended(request: HttpRequest) -> None:
    suspended = CallbackEndpoint.objects.filter(suspended_at__isnull=False).count()
    if suspended:
        messages.error(
            request,
            f"ALERT: {suspended} callback endpoint(s) suspended after failing repeatedly. "
            "Fix the receiver, then use 'Resume' on the endpoint.",
        )


@admin.register(CallbackEndpoint)
class CallbackEndpointAdmin(admin.ModelAdmin[CallbackEndpoint]):
    list_display = ("api_key", "url", "suspended_at", "consecutive_failures", "updated_at")
    list_filter = (("suspended_at", admin.EmptyFieldListFilter),)
    readonly_fields = ("secret", "consecutive_failures", "suspended_at", "created_at", "updated_at")
    actions = ["resume", "rotate_secret"]
    # A bare "hooks.example.com" means https (Django 6's default; saying so avoids its warning).
    formfield_overrides: ClassVar[dict[type[Field[Any, Any]], dict[str, Any]]] = {
        models.URLField: {"assume_scheme": "https"}
    }

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _alert_suspended(request)
        return super().changelist_view(request, extra_context)

    @admin.action(description="Resume selected endpoints (send pending events now)", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[CallbackEndpoint]) -> None:
        for endpoint in queryset:
            callback_endpoint_resume(endpoint=endpoint, actor=Actor.user(request.user.pk))
        self.message_user(request, f"Resumed {queryset.count()} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[CallbackEndpoint]) -> None:
        for endpoint in queryset:
            callback_endpoint_rotate_secret(endpoint=endpoint, actor=Actor.user(request.user.pk))
        self.message_user(request, "New secrets are shown on each endpoint's page.", messages.SUCCESS)


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(admin.ModelAdmin[CallbackDelivery]):
    list_display = (
        "id",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status",)
    list_select_related = ("endpoint",)
    readonly_fields = [
        *(f.name for f in CallbackDelivery._meta.get_fields() if f.name != "events"),
        "events_rows",
    ]
    show_full_result_count = False
    exclude = ("events",)
    events_rows = labelled_json("events", "events")  # as labelled rows; the JSON is what was POSTed

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _alert_suspended(request)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
