from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin_base import (
    ReadOnlyAdmin,
    labelled_json,
    labelled_rows,
)  # messages change only through the lifecycle
from audit.services import Actor
from hub.contacts.masking import address_masked, addresses_visible
from hub.messaging.fallback_policies import fallback_policy_delete, fallback_policy_save
from hub.messaging.models import FallbackPolicy, Message, MessageEvent, Notification


class MessageEventInline(admin.TabularInline[MessageEvent, Message]):
    model = MessageEvent
    extra = 0
    fields = ("occurred_at", "kind", "status", "source", "details")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="detail")
    def details(self, obj: MessageEvent) -> str:
        return labelled_rows(obj.detail) if obj.detail else "—"


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
    exclude = ("to", "data", "channels")
    readonly_fields = ("channel_list", "to_rows", "data_rows")
    to_rows = labelled_json("to", "inline addresses")
    data_rows = labelled_json("data", "data")

    @admin.display(description="channels")
    def channel_list(self, obj: Notification) -> str:
        return ", ".join(obj.channels or ()) or "—"


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
    # Read as labelled rows below, not as the raw JSON the stock admin would show.
    exclude = ("rendered", "decision")
    readonly_fields = ("compliance_decision", "decision_details", "content")
    inlines = [MessageEventInline]
    show_full_result_count = False

    # The address as the contact's page shows it: masked to whoever reads addresses masked.
    def get_exclude(self, request: HttpRequest, obj: Message | None = None) -> tuple[str, ...]:
        hidden = tuple(self.exclude or ())
        return hidden if addresses_visible(request.user) else (*hidden, "to")

    def get_readonly_fields(self, request: HttpRequest, obj: Message | None = None) -> tuple[str, ...]:
        fields = tuple(self.readonly_fields)
        return fields if addresses_visible(request.user) else ("to_masked", *fields)

    @admin.display(description="to")
    def to_masked(self, obj: Message) -> str:
        return address_masked(obj.to) or "—"

    @admin.display(description="decision in detail")
    def decision_details(self, obj: Message) -> str:
        decision = {k: v for k, v in (obj.decision or {}).items() if k != "sentence"}
        return labelled_rows(decision) if decision else "—"

    @admin.display(description="content as rendered")
    def content(self, obj: Message) -> str:
        if not obj.rendered:
            return "Not rendered, or removed after its retention period."
        return labelled_rows(
            [(key.replace("_", " ").capitalize(), str(value)) for key, value in obj.rendered.items()],
            pre=True,
        )

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
