from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin_base import ReadOnlyAdmin  # messages change only through the lifecycle
from audit.services import Actor
from hub.messaging.fallback_policies import fallback_policy_delete, fallback_policy_save
from hub.messaging.models import FallbackPolicy, Message, MessageEvent, Notification


class MessageEventInline(admin.TabularInline[MessageEvent, Message]):
    model = MessageEvent
    extra = 0
    fields = ("occurred_at", "kind", "status", "source", "detail")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MessageInline(admin.TabularInline[Message, Notification]):
    model = Message
    extra = 0
    fields = ("id", "channel", "status", "block_reason", "provider", "error_code", "status_changed_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "template", "contact", "routing", "reference", "created_at")
    list_select_related = ("template", "contact")
    search_fields = ("=id", "reference", "contact__external_id")
    inlines = [MessageInline]
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "channel",
        "category",
        "status",
        "block_reason",
        "compliance_decision",
        "provider",
        "attempts",
        "needs_reconciliation",
        "status_changed_at",
    )
    list_filter = ("status", "channel", "category", "block_reason", "needs_reconciliation")
    search_fields = ("=id", "=provider_message_id", "notification__reference", "decided_by")
    readonly_fields = ("compliance_decision",)
    inlines = [MessageEventInline]
    show_full_result_count = False

    @admin.display(description="compliance decision")
    def compliance_decision(self, obj: Message) -> str:
        """The decision in one sentence: which rule version decided and why."""
        return str((obj.decision or {}).get("sentence", "")) or "-"


@admin.register(FallbackPolicy)
class FallbackPolicyAdmin(admin.ModelAdmin[FallbackPolicy]):
    """Routing ``first``: how long a channel may take to deliver before the next is tried."""

    list_display = ("template", "channel", "wait_seconds")
    list_filter = ("channel",)
    list_select_related = ("template",)

    def save_model(self, request: HttpRequest, obj: FallbackPolicy, form: Any, change: bool) -> None:
        fallback_policy_save(policy=obj, actor=Actor.user(request.user.pk))

    def delete_model(self, request: HttpRequest, obj: FallbackPolicy) -> None:
        fallback_policy_delete(policy=obj, actor=Actor.user(request.user.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[FallbackPolicy]) -> None:
        for policy in queryset.select_related("template"):
            fallback_policy_delete(policy=policy, actor=Actor.user(request.user.pk))
