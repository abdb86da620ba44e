"""API keys in admin: an operator creates one (its secret shown once, on the page that answers
the form), chooses what it may do from lists, edits its limits, revokes it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import (
    CAPABILITIES,
    InvalidScope,
    ScopeChoices,
    apikey_create,
    apikey_revoke,
    apikey_settings_validate,
    apikey_update,
    scopes_choices,
    scopes_compose,
)
from hub.apikeys.shown_once import secret_remember, secret_response
from templates_app.models import Category, Template

CAPABILITY_LABELS = {
    "send": "Send notifications and broadcasts",
    "read": "Read notifications, messages, templates and reports",
    "contacts:read": "Read contacts, consents and preferences",
    "contacts:write": "Create and change contacts, consents and preferences",
    "contacts:erase": "Erase contacts (right to erasure)",
    "events": "Send events (journeys, conversions)",
}
MODEL_FIELDS = ("name", "is_test", "rate_limit_per_minute", "rate_limit_burst", "daily_quota")


def _template_choices() -> list[tuple[str, str]]:
    return [(key, key) for key in Template.objects.order_by("key").values_list("key", flat=True)]


class ApiKeyForm(forms.ModelForm[ApiKey]):
    """What a key may do, ticked from lists; turned into its scopes (SPEC §4) and checked by the
    service's own rules, so a bad edit is a form error."""

    capabilities = forms.MultipleChoiceField(
        choices=[(c, f"{CAPABILITY_LABELS.get(c, c)} ({c})") for c in CAPABILITIES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick only what the service needs.",
    )
    send_categories = forms.MultipleChoiceField(
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Only send these categories",
        help_text="Leave all unticked (and no templates chosen) to send any template.",
    )
    send_templates = forms.MultipleChoiceField(
        choices=_template_choices,
        required=False,
        label="Only send these templates",
        help_text="Any one matching category or template is enough.",
    )

    class Meta:
        model = ApiKey
        fields = MODEL_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial.setdefault("capabilities", ["send"])
            return
        choices = scopes_choices(self.instance.scopes)
        self.initial["capabilities"] = list(choices.capabilities)
        self.initial["send_categories"] = list(choices.categories)
        self.initial["send_templates"] = list(choices.templates)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        choices = ScopeChoices(
            capabilities=tuple(cleaned.get("capabilities") or ()),
            categories=tuple(cleaned.get("send_categories") or ()),
            templates=tuple(cleaned.get("send_templates") or ()),
        )
        try:
            scopes = scopes_compose(choices)
        except InvalidScope as exc:
            self.add_error("send_categories", str(exc))
            return cleaned
        candidate = ApiKey(
            scopes=scopes, **{name: cleaned.get(name) for name in MODEL_FIELDS if name in cleaned}
        )
        try:
            apikey_settings_validate(api_key=candidate)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error("capabilities" if field == "scopes" else field, errors)
        cleaned["scopes"] = candidate.scopes  # normalised (trimmed, de-duplicated)
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    form = ApiKeyForm
    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_keys"]

    def get_fieldsets(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": ("name", "is_test")}),
            ("What the key may do", {"fields": ("capabilities", "send_categories", "send_templates")}),
            ("Limits", {"fields": ("rate_limit_per_minute", "rate_limit_burst", "daily_quota")}),
        ]
        if obj is not None:
            fieldsets.append(("Record", {"fields": self.readonly_fields}))
        return fieldsets

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        actor = Actor.user(request.user.pk)
        data = form.cleaned_data
        if change:
            obj.scopes = data["scopes"]
            apikey_update(api_key=obj, actor=actor)
            return
        issued = apikey_create(
            name=data["name"],
            scopes=data["scopes"],
            is_test=data["is_test"],
            rate_limit_per_minute=data["rate_limit_per_minute"],
            rate_limit_burst=data["rate_limit_burst"],
            daily_quota=data["daily_quota"],
            actor=actor,
        )
        obj.pk = issued.api_key.pk
        obj.prefix = issued.api_key.prefix
        secret_remember(
            request,
            title=f"API key “{issued.api_key.name}” created",
            secret=issued.raw,
            usage=(
                f"curl -H 'Authorization: Bearer {issued.raw}' \\\n"
                f"     {settings.HUB_BASE_URL}/api/v1/templates"
            ),
        )

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        continue_url = reverse("admin:apikeys_apikey_change", args=[obj.pk])
        shown = secret_response(
            request, continue_url=continue_url, context=self.admin_site.each_context(request)
        )
        return shown or super().response_add(request, obj, post_url_continue)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            apikey_revoke(api_key=api_key, actor=Actor.user(request.user.pk))
            count += 1
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)
