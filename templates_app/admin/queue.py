"""Compliance's approval queue and the (read-only) record of approvals."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from audit.admin_base import age_words
from templates_app.models import ApprovalQueueEntry, TemplateApproval, VersionStatus


@admin.register(ApprovalQueueEntry)
class ApprovalQueueAdmin(admin.ModelAdmin[ApprovalQueueEntry]):
    # "Waiting" says how long since submission (and sorts by it); the date itself is on the
    # review page. With both columns the Review button fell off the table at 1,280 px.
    list_display = ("version_link", "category", "author", "age", "warnings", "review")
    list_display_links = None  # every link on this list opens the review page, never a dead end
    list_filter = ("template__category",)
    search_fields = ("template__key", "template__name")
    ordering = ("submitted_at",)

    @admin.display(description="version", ordering="template__key")
    def version_link(self, obj: ApprovalQueueEntry) -> str:
        url = reverse("admin:templates_app_templateversion_review", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, str(obj))

    @admin.display(description="waiting", ordering="submitted_at")
    def age(self, obj: ApprovalQueueEntry) -> str:
        if obj.submitted_at is None:
            return "-"
        return age_words(obj.submitted_at)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        count = self.get_queryset(request).count()
        title = f"Approval queue: {count} version{'s' if count != 1 else ''} waiting"
        return super().changelist_view(request, {**(extra_context or {}), "title": title})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        """An old link to an entry goes to its review page (it used to show raw lint JSON)."""
        if request.method != "GET" or not self.has_view_permission(request):
            raise PermissionDenied  # nothing is changed here; decisions are made on the review page
        if not object_id.isdigit():
            raise Http404
        return HttpResponseRedirect(reverse("admin:templates_app_templateversion_review", args=[object_id]))

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApprovalQueueEntry]:
        return super().get_queryset(request).filter(status=VersionStatus.IN_REVIEW).select_related("template")

    @admin.display(description="category")
    def category(self, obj: ApprovalQueueEntry) -> str:
        return obj.template.get_category_display()

    @admin.display(description="lint warnings")
    def warnings(self, obj: ApprovalQueueEntry) -> int:
        return sum(1 for f in obj.lint if f.get("severity") == "warning")

    @admin.display(description="")
    def review(self, obj: ApprovalQueueEntry) -> str:
        url = reverse("admin:templates_app_templateversion_review", args=[obj.pk])
        return format_html('<a class="button" href="{}">Review</a>', url)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("templates_app.approve_templateversion") or super().has_view_permission(
            request, obj
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TemplateApproval)
class TemplateApprovalAdmin(admin.ModelAdmin[TemplateApproval]):
    list_display = ("version", "approved_by", "approved_at", "comment")
    list_filter = ("version__template__category",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # approvals are made by reviewing a version, never by hand

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
