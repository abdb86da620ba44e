from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from hub.providers.models import SandboxOutboxEntry


@admin.register(SandboxOutboxEntry)
class SandboxOutboxAdmin(admin.ModelAdmin[SandboxOutboxEntry]):
    list_display = ("created_at", "channel", "provider", "to", "message_id", "provider_message_id")
    list_filter = ("channel", "provider")
    search_fields = ("to", "message_id", "provider_message_id")
    readonly_fields = (
        "provider",
        "channel",
        "provider_message_id",
        "message_id",
        "to",
        "content",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SandboxOutboxEntry | None = None) -> bool:
        return False
