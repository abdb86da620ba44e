"""Contact timelines for support: one contact, every channel, newest first, one page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from hub.contacts.conversations import sms_in_sandbox
from hub.contacts.selectors import contacts_matching
from hub.workspace.admin.base import ReadOnlyWorkspaceAdmin
from hub.workspace.homes import contact_viewed
from hub.workspace.models import ContactTimeline
from hub.workspace.timeline import contact_timeline

# One page of matches: support narrows the search rather than paging through thousands.
SEARCH_RESULTS = 100


@admin.register(ContactTimeline)
class ContactTimelineAdmin(ReadOnlyWorkspaceAdmin):
    list_display = ("external_id", "locale", "timezone", "updated_at")
    search_fields = ("external_id",)  # shows the search box; get_search_results does the search
    show_full_result_count = False
    search_help_text = (
        "Part of an external id, email, phone or name, in any case (at least three characters; "
        "shorter finds an exact external id)."
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactTimeline]:
        # Nothing is listed until someone searches: no page ever counts every contact.
        match = request.resolver_match
        listing = match is not None and (match.url_name or "").endswith("changelist")
        if listing and not request.GET.get("q"):
            return super().get_queryset(request).none()
        return super().get_queryset(request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ContactTimeline], search_term: str
    ) -> tuple[QuerySet[ContactTimeline], bool]:
        ids = contacts_matching(search_term, limit=SEARCH_RESULTS).values("pk")
        return queryset.filter(pk__in=ids), False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        contact = ContactTimeline.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if contact is None:
            raise Http404("No such contact.")
        contact_viewed(
            user_id=int(request.user.pk or 0), contact_id=contact.pk
        )  # the support home's "recently viewed"
        entries = contact_timeline(contact=contact)
        context = self.context(
            request,
            f"Timeline of {contact.external_id}",
            contact=contact,
            entries=entries,
            # One reply form per channel, under the newest inbound message on it.
            reply_ids={
                next(e.inbound.pk for e in entries if e.inbound and e.inbound.channel == channel)
                for channel in {e.inbound.channel for e in entries if e.inbound}
            },
            can_export_evidence=request.user.has_perm("workspace.export_evidence"),
            can_reply=request.user.has_perm("contacts.reply_inboundmessage"),
            can_simulate=request.user.has_perm("contacts.simulate_inboundmessage")
            and bool(contact.phone)
            and sms_in_sandbox(),
        )
        return TemplateResponse(request, "workspace/timeline.html", context)
