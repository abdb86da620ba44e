from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import EDITABLE_FIELDS, apikey_revoke, apikey_settings_validate, apikey_update


class ApiKeyForm(forms.ModelForm[ApiKey]):
    """Scopes and limits checked by the service's own rules, so a bad edit is a form error."""

    class Meta:
        model = ApiKey
        fields = EDITABLE_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        candidate = ApiKey(**{name: cleaned.get(name) for name in EDITABLE_FIELDS if name in cleaned})
        apikey_settings_validate(api_key=candidate)  # a ValidationError names the fields
        if "scopes" in cleaned:
            cleaned["scopes"] = candidate.scopes  # normalised (trimmed, de-duplicated)
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    form = ApiKeyForm
    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key's secret must be shown exactly once: create keys with `manage.py createapikey`.
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        apikey_update(api_key=obj, actor=Actor.user(request.user.pk))

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            apikey_revoke(api_key=api_key, actor=Actor.user(request.user.pk))
            count += 1
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)
