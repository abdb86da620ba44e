"""Notify-format API keys in admin: create one (its key is shown once, on the page that
answers the form: ``hub.apikeys.shown_once``), see its service id and type. Scopes, limits and revocation are on its API key."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from audit.services import Actor
from hub.apikeys.shown_once import secret_remember, secret_response
from hub.notify.keys import notify_key_create
from hub.notify.models import EmailReplyTo, NotifyKey, SmsSender


class NotifyKeyCreateForm(forms.ModelForm[NotifyKey]):
    name = forms.CharField(max_length=100, help_text="e.g. cards-service")
    service_id = forms.UUIDField(
        required=False, help_text="Join an existing Notify service id; leave blank for a new service."
    )

    class Meta:
        model = NotifyKey
        fields = ("key_type",)


@admin.register(NotifyKey)
class NotifyKeyAdmin(admin.ModelAdmin[NotifyKey]):
    list_display = ("__str__", "key_type", "service_id", "api_key_link", "revoked")
    list_filter = ("key_type",)
    readonly_fields = ("api_key_link", "key_type", "service_id", "key_id")
    fields = ("api_key_link", "key_type", "service_id")

    def get_form(
        self, request: HttpRequest, obj: NotifyKey | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = NotifyKeyCreateForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: NotifyKey | None = None) -> Any:
        return ("name", "key_type", "service_id") if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: NotifyKey | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    @admin.display(description="API key (scopes, limits, revoke)")
    def api_key_link(self, obj: NotifyKey) -> str:
        url = reverse("admin:apikeys_apikey_change", args=[obj.api_key_id])
        return format_html('<a href="{}">{}</a>', url, obj.api_key)

    @admin.display(boolean=True)
    def revoked(self, obj: NotifyKey) -> bool:
        return obj.api_key.revoked_at is not None

    def save_model(self, request: HttpRequest, obj: NotifyKey, form: Any, change: bool) -> None:
        if change:
            return  # nothing here is editable: scopes and limits are on the API key
        issued = notify_key_create(
            name=form.cleaned_data["name"],
            key_type=form.cleaned_data["key_type"],
            service_id=form.cleaned_data.get("service_id"),
            actor=Actor.user(request.user.pk),
        )
        obj.pk = issued.notify_key.pk
        obj.api_key = issued.notify_key.api_key
        obj.service_id = issued.notify_key.service_id
        secret_remember(
            request,
            title="Notify API key created",
            secret=issued.raw,
            usage=(
                "from notifications_python_client.notifications import NotificationsAPIClient\n"
                f"client = NotificationsAPIClient('{issued.raw}', base_url='{settings.HUB_BASE_URL}')"
            ),
        )

    def response_add(
        self, request: HttpRequest, obj: NotifyKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        continue_url = reverse("admin:notify_notifykey_change", args=[obj.pk])
        shown = secret_response(
            request, continue_url=continue_url, context=self.admin_site.each_context(request)
        )
        return shown or super().response_add(request, obj, post_url_continue)


@admin.register(SmsSender)
class SmsSenderAdmin(admin.ModelAdmin[SmsSender]):
    list_display = ("sms_sender", "id", "is_default")
    readonly_fields = ("id",)


@admin.register(EmailReplyTo)
class EmailReplyToAdmin(admin.ModelAdmin[EmailReplyTo]):
    list_display = ("email_address", "id", "is_default")
    readonly_fields = ("id",)
