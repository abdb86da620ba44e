from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from audit.admin_base import labelled_rows
from audit.services import Actor
from hub.providers.health import provider_health
from hub.providers.models import ProviderConfig, SandboxOutboxEntry, SmsKeywordReplies
from hub.providers.selectors import routing_overview
from hub.providers.services import (
    provider_config_delete,
    provider_config_save,
    provider_restore,
    sms_keyword_replies_delete,
    sms_keyword_replies_save,
)
from templates_app.sms import sms_info


@admin.register(ProviderConfig)
class ProviderConfigAdmin(admin.ModelAdmin[ProviderConfig]):
    """Operators route traffic here; the list shows each provider's live health."""

    list_display = (
        "name",
        "channel",
        "backend",
        "priority",
        "enabled",
        "health",
        "error_rate",
        "mean_latency",
        "current_position",
    )
    list_filter = ("channel", "enabled")
    list_editable = ("priority", "enabled")
    ordering = ("channel", "priority", "name")
    actions = ("restore",)
    change_list_template = "admin/providers/providerconfig/change_list.html"

    @admin.display(description="health")
    def health(self, obj: ProviderConfig) -> str:
        state = provider_health(obj.name)
        return f"demoted: {state.demoted_reason}" if state.demoted else "healthy"

    @admin.display(description="error rate (window)")
    def error_rate(self, obj: ProviderConfig) -> str:
        state = provider_health(obj.name)
        return f"{state.error_rate:.0%} of {state.calls}"

    @admin.display(description="mean latency")
    def mean_latency(self, obj: ProviderConfig) -> str:
        return f"{provider_health(obj.name).mean_latency_ms:.0f} ms"

    @admin.display(description="current position")
    def current_position(self, obj: ProviderConfig) -> str:
        for row in routing_overview().get(obj.channel, []):
            if row.name == obj.name:
                return str(row.position)
        return "off"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "routing_overview": routing_overview()}
        return super().changelist_view(request, extra_context=context)

    def save_model(self, request: HttpRequest, obj: ProviderConfig, form: Any, change: bool) -> None:
        provider_config_save(config=obj, actor=Actor.user(request.user.pk))

    def delete_model(self, request: HttpRequest, obj: ProviderConfig) -> None:
        provider_config_delete(config=obj, actor=Actor.user(request.user.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ProviderConfig]) -> None:
        for row in queryset:
            provider_config_delete(config=row, actor=Actor.user(request.user.pk))

    @admin.action(
        description="Restore the selected providers (forget their failures)", permissions=["change"]
    )
    def restore(self, request: HttpRequest, queryset: QuerySet[ProviderConfig]) -> None:
        for row in queryset:
            provider_restore(name=row.name, actor=Actor.user(request.user.pk))
        self.message_user(request, f"Restored {queryset.count()} provider(s).", messages.SUCCESS)


@admin.register(SmsKeywordReplies)
class SmsKeywordRepliesAdmin(admin.ModelAdmin[SmsKeywordReplies]):
    list_display = ("help_reply", "updated_at")

    def save_model(self, request: HttpRequest, obj: SmsKeywordReplies, form: Any, change: bool) -> None:
        sms_keyword_replies_save(replies=obj, actor=Actor.user(request.user.pk))

    def delete_model(self, request: HttpRequest, obj: SmsKeywordReplies) -> None:
        sms_keyword_replies_delete(replies=obj, actor=Actor.user(request.user.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SmsKeywordReplies]) -> None:
        for row in queryset:
            sms_keyword_replies_delete(replies=row, actor=Actor.user(request.user.pk))


# The content parts a provider is given, in reading order (hub.providers.base.OutboundMessage).
CONTENT_LABELS = (
    ("subject", "Subject"),
    ("title", "Title"),
    ("text", "Text"),
    ("body", "Body"),
    ("link", "Link"),
)


@admin.register(SandboxOutboxEntry)
class SandboxOutboxAdmin(admin.ModelAdmin[SandboxOutboxEntry]):
    # When, where and what (the subject or first words): the two ids it listed instead ran the
    # list 370 px past 1,280 (seen on the screenshots); they are on each entry's page, and the
    # search still finds an entry by either.
    list_display = ("created_at", "channel", "to", "what")
    list_filter = ("channel", "provider")
    search_fields = ("to", "message_id", "provider_message_id")
    fieldsets = (
        (None, {"fields": ("created_at", "channel", "provider", "to", "message_id", "provider_message_id")}),
        ("Headers", {"fields": ("headers_table",)}),
        ("What the recipient would get", {"fields": ("rendered",)}),
    )
    readonly_fields = (
        "provider",
        "channel",
        "provider_message_id",
        "message_id",
        "to",
        "headers_table",
        "rendered",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SandboxOutboxEntry | None = None) -> bool:
        return False

    @admin.display(description="Headers")
    def headers_table(self, obj: SandboxOutboxEntry) -> str:
        if not obj.headers:
            return "None: only email carries headers." if obj.channel != "email" else "None recorded."
        return labelled_rows(list(obj.headers.items()))  # header names as sent

    @admin.display(description="What")
    def what(self, obj: SandboxOutboxEntry) -> str:
        """The subject or first words, linked to the message it came from (its status and why)."""
        content = obj.content or {}
        words = Truncator(
            str(content.get("subject") or content.get("title") or content.get("text") or "")
        ).chars(70)
        if not obj.message_id:
            return words
        url = reverse("admin:messaging_message_change", args=[obj.message_id])
        return format_html('<a href="{}" title="message {}">{}</a>', url, obj.message_id, words or "(empty)")

    @admin.display(description="Content")
    def rendered(self, obj: SandboxOutboxEntry) -> str:
        """Each part of the content labelled; HTML email drawn in a sandboxed frame (no scripts,
        no links followed), SMS with its encoding and segments."""
        content = {k: str(v) for k, v in (obj.content or {}).items()}
        rows: list[tuple[str, str]] = []
        for key, label in CONTENT_LABELS:
            if key in content and key != "html":
                rows.append((label, content.pop(key)))
        rows += sorted(content.items())  # anything else a channel carries, still labelled
        html = obj.content.get("html", "") if obj.content else ""
        parts = [labelled_rows(rows, pre=True)]
        if obj.channel == "sms" and obj.content.get("text"):
            info = sms_info(str(obj.content["text"]))
            parts.append(
                format_html(
                    "<p>{} · {} characters · {} segment(s)</p>", info.encoding, info.units, info.segments
                )
            )
        if html:
            parts.append(
                format_html(
                    '<p>HTML as the recipient sees it:</p><iframe title="HTML body" sandbox="" srcdoc="{}" '
                    'style="width: 100%; max-width: 720px; height: 480px; border: 1px solid var(--hairline-color); '
                    'background: #fff"></iframe>',
                    html,
                )
            )
        return mark_safe("".join(parts))  # noqa: S308 - every part built by format_html
