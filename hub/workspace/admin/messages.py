"""The compliance workspace: search messages, see one in full, export CSV, evidence packs."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from audit.models import AuditRecord
from audit.services import Actor
from hub.contacts.models import Contact
from hub.csv_cells import csv_row
from hub.workspace.admin.base import ReadOnlyWorkspaceAdmin
from hub.workspace.forms import EvidenceForm, MessageSearchForm, TemplateEvidenceForm
from hub.workspace.models import WorkspaceMessage
from hub.workspace.search import MessageFilters, message_detail, messages_export, messages_search
from hub.workspace.services import (
    evidence_pack_export,
    messages_export_record,
    template_evidence_pack_export,
)
from templates_app.models import Template

CSV_COLUMNS = (
    "id", "created_at", "template", "channel", "category", "status", "block_reason",
    "decided_by", "decision_sentence", "provider", "provider_message_id", "contact",
)  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _zip_download(pack: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pack, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(WorkspaceMessage)
class WorkspaceMessageAdmin(ReadOnlyWorkspaceAdmin):
    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        urls: list[URLPattern] = [
            path("export.csv", view(self.export_view), name="workspace_workspacemessage_export"),
            path("evidence/", view(self.evidence_view), name="workspace_workspacemessage_evidence"),
            path(
                "evidence/template/",
                view(self.template_evidence_view),
                name="workspace_workspacemessage_template_evidence",
            ),
        ]
        return urls + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = MessageSearchForm(request.GET or None)
        page = None
        if form.is_bound and form.is_valid():
            page = messages_search(filters=form.filters(), cursor=request.GET.get("cursor", ""))
        elif not form.is_bound:
            page = messages_search(filters=MessageFilters())
        query = request.GET.copy()
        query.pop("cursor", None)
        context = self.context(
            request,
            "Compliance workspace",
            form=form,
            page=page,
            query=query.urlencode(),
            evidence_form=EvidenceForm(
                auto_id="evidence_%s"
            ),  # beside the search form, which has a contact field too
            can_export_evidence=request.user.has_perm("workspace.export_evidence"),
        )
        return TemplateResponse(request, "workspace/search.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            message = message_detail(message_id=UUID(object_id))
        except ValueError:
            message = None
        if message is None:
            raise Http404("No such message.")
        records = AuditRecord.objects.filter(object_type="message", object_id=str(message.id)).order_by("seq")
        context = self.context(
            request,
            f"Message {message.id}",
            message=message,
            decision_sentence=(message.decision or {}).get("sentence", ""),
            events=list(message.events.all()),
            records=list(records),
            retained=bool(message.rendered),
        )
        return TemplateResponse(request, "workspace/message.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = MessageSearchForm(request.GET)
        if not form.is_valid():
            return HttpResponse(
                f"Invalid search: {form.errors.as_text()}", status=400, content_type="text/plain"
            )
        filters = form.filters()
        messages_export_record(filters=filters, actor=Actor.user(request.user.pk))
        writer = csv.writer(_Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            for m in messages_export(filters=filters):
                contact = m.notification.contact
                yield writer.writerow(
                    csv_row(
                        [
                            m.id,
                            m.created_at.isoformat(),
                            m.notification.template.key,
                            m.channel,
                            m.category,
                            m.status,
                            m.block_reason,
                            m.decided_by,
                            (m.decision or {}).get("sentence", ""),
                            m.provider,
                            m.provider_message_id,
                            contact.external_id if contact else "",
                        ]
                    )
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="messages.csv"'
        return response

    def _evidence_form_page(self, request: HttpRequest, title: str, form: Form) -> HttpResponse:
        """The form again: 400 with its errors when it was filled in, 200 when first opened."""
        context = self.context(request, title, evidence_form=form)
        return TemplateResponse(
            request, "workspace/evidence.html", context, status=400 if form.is_bound else 200
        )

    def evidence_view(self, request: HttpRequest) -> HttpResponse:
        """GET ?contact=<external id>: download that contact's evidence pack (a zip)."""
        if not request.user.has_perm("workspace.export_evidence"):
            raise PermissionDenied
        form = EvidenceForm(request.GET or None)
        contact = None
        if form.is_valid():
            contact = Contact.objects.filter(external_id=form.cleaned_data["contact"]).first()
            if contact is None:
                form.add_error("contact", "There is no contact with this external id.")
        if contact is None:
            return self._evidence_form_page(request, "Evidence pack", form)
        pack = evidence_pack_export(contact=contact, actor=Actor.user(request.user.pk))
        return _zip_download(pack, f"evidence-{contact.pk}.zip")

    def template_evidence_view(self, request: HttpRequest) -> HttpResponse:
        """GET ?template=<key>[&since=&until=]: download that template's evidence pack (a zip)."""
        if not request.user.has_perm("workspace.export_evidence"):
            raise PermissionDenied
        form = TemplateEvidenceForm(request.GET or None)
        template = None
        if form.is_valid():
            template = Template.objects.filter(key=form.cleaned_data["template"]).first()
            if template is None:
                form.add_error("template", "There is no template with this key.")
        if template is None:
            return self._evidence_form_page(request, "Template evidence pack", form)
        pack = template_evidence_pack_export(
            template=template,
            actor=Actor.user(request.user.pk),
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
        )
        return _zip_download(pack, f"evidence-template-{template.pk}.zip")
