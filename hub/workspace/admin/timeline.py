"""The contact's page for support: the person (addresses masked unless the role may see
them), consent per channel and category, active suppressions, and one time-ordered view of
every message (status trail, rendered content, decision sentence), inbound reply, consent
change, suppression, journey run and (for audit readers) audit record, with filters and pages
of at most ``TIMELINE_LIMIT`` entries."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from audit.admin_base import labelled_rows
from hub.contacts.conversations import sms_in_sandbox
from hub.contacts.masking import address_shown, addresses_visible
from hub.contacts.selectors import contacts_matching
from hub.workspace.admin.base import ReadOnlyWorkspaceAdmin
from hub.workspace.forms import TimelineFilterForm
from hub.workspace.homes import contact_viewed
from hub.workspace.models import ContactTimeline
from hub.workspace.timeline import (
    TimelinePage,
    contact_consent_overview,
    contact_suppressions,
    contact_timeline,
)

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

    def get_list_display(self, request: HttpRequest) -> tuple[Any, ...]:
        """Who each match is: name and addresses, masked unless the viewer may see them."""
        visible = addresses_visible(request.user)

        @admin.display(description="name")
        def name(obj: ContactTimeline) -> str:
            attributes = obj.attributes if isinstance(obj.attributes, dict) else {}
            return str(attributes.get("name", ""))

        @admin.display(description="email")
        def email(obj: ContactTimeline) -> str:
            return address_shown(obj.email, visible=visible)

        @admin.display(description="phone")
        def phone(obj: ContactTimeline) -> str:
            return address_shown(obj.phone, visible=visible)

        return ("external_id", name, email, phone, "locale", "updated_at")

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
        # The match (trigram indexes over every contact) runs once, here: the page then counts
        # and lists at most SEARCH_RESULTS ids by primary key. As a subquery it ran twice, in
        # the paginator's count and in the rows (bench --only homes).
        ids = list(contacts_matching(search_term, limit=SEARCH_RESULTS).values_list("pk", flat=True))
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
        contact_viewed(user_id=int(request.user.pk or 0), contact_id=contact.pk)  # the support home's list
        show_addresses = addresses_visible(request.user)
        may_read_audit = request.user.has_perm("audit.view_auditrecord")
        form = TimelineFilterForm(request.GET or None, audit=may_read_audit)
        page = TimelinePage([])
        if not form.is_bound or form.is_valid():
            page = contact_timeline(
                contact=contact,
                filters=form.timeline_filters() if form.is_bound else None,
                show_addresses=show_addresses,
                include_audit=may_read_audit,
            )
        entries = page.entries
        older = ""
        if page.older is not None:
            query = request.GET.copy()
            query["before"] = page.older.isoformat()
            older = query.urlencode()
        newest = request.GET.copy()
        newest.pop("before", None)
        context = self.context(
            request,
            f"Contact {contact.external_id}",
            contact=contact,
            name=str(contact.attributes.get("name", "")) if isinstance(contact.attributes, dict) else "",
            email=address_shown(contact.email, visible=show_addresses),
            phone=address_shown(contact.phone, visible=show_addresses),
            addresses_masked=not show_addresses,
            consent=contact_consent_overview(contact),
            suppressions=[s for s in contact_suppressions(contact) if s.lifted_at is None],
            form=form,
            entries=entries,
            # Each entry with its audit record's payload as labelled rows (empty for the others).
            rows=[(e, labelled_rows(e.record.payload) if e.record else "") for e in entries],
            older_query=older,
            newest_query=newest.urlencode() if "before" in request.GET else None,
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
            can_view_runs=request.user.has_perm("journeys.view_journeyrun"),
        )
        status = 400 if form.is_bound and not form.is_valid() else 200
        return TemplateResponse(request, "workspace/timeline.html", context, status=status)
