"""Retention periods per channel, set in admin; every change is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.services import Actor
from hub.workspace.models import RetentionPolicy
from hub.workspace.retention import retention_policy_save


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin[RetentionPolicy]):
    list_display = ("channel", "days", "updated_at")
    fields = ("channel", "days")

    def get_readonly_fields(self, request: HttpRequest, obj: RetentionPolicy | None = None) -> Any:
        return ("channel",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: RetentionPolicy | None = None) -> bool:
        # Removing a policy would silently keep personal data forever: change the days instead.
        return False

    def save_model(self, request: HttpRequest, obj: RetentionPolicy, form: Any, change: bool) -> None:
        before = RetentionPolicy.objects.filter(pk=obj.pk).values_list("days", flat=True).first()
        retention_policy_save(policy=obj, actor=Actor.user(request.user.pk), before_days=before)
