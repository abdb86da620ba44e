"""Broadcasts in admin: upload a CSV, map its columns, read the validation report, start;
then watch the progress bar (polled from a small JSON view); pause, resume or cancel."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from audit.admin_base import labelled_rows
from audit.services import Actor
from hub.broadcasts.admin_audiences import AudienceViews, DraftSettingsForm
from hub.broadcasts.csv_import import (
    ROLES,
    broadcast_csv_draft_create,
    broadcast_csv_prepare,
    csv_columns,
    guess_mapping,
)
from hub.broadcasts.errors import BroadcastRejected
from hub.broadcasts.models import Broadcast, BroadcastStatus
from hub.broadcasts.segments import filter_words
from hub.broadcasts.selectors import (
    broadcast_progress,
    broadcast_progress_summary,
    broadcast_skipped_reasons,
)
from hub.broadcasts.services import broadcast_start
from hub.broadcasts.steering import broadcast_cancel, broadcast_pause, broadcast_resume
from hub.broadcasts.upload_limit import CsvSizeLimit


class CsvUploadForm(DraftSettingsForm):
    csv_file = forms.FileField(help_text="UTF-8 CSV with a header row.")

    def clean_csv_file(self) -> str:
        upload = self.cleaned_data["csv_file"]  # its size was limited as it came in (CsvSizeLimit)
        try:
            text = str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text.") from exc
        try:
            csv_columns(text)
        except BroadcastRejected as exc:
            raise forms.ValidationError(exc.detail) from exc
        return text


class MappingForm(forms.Form):
    def __init__(
        self, *args: Any, columns: list[str], initial_mapping: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index, column in enumerate(columns):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=column, choices=ROLES, initial=initial_mapping.get(column)
            )

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"col_{i}"] for i, column in enumerate(self.columns)}


@admin.register(Broadcast)
class BroadcastAdmin(AudienceViews):
    # Status and audience kind are filters on the right, and the progress says the status in
    # words: with them as columns too, the list ran past 1,280 px (the date cut off).
    list_display = ("name", "template", "total", "progress_bar", "created_at")
    list_filter = ("status", "audience_kind")
    search_fields = ("name", "reference")
    list_select_related = ("template",)
    fields = (
        "name",
        "status",
        "progress_bar",
        "template",
        "channel_list",
        "routing",
        "audience_kind",
        "segment",
        "send_at",
        "rate_per_minute",
        "total",
        "skipped",
        "skipped_reasons",
        "released",
        "validation_summary",
        "columns",
        "created_by",
        "api_key",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields
    actions = ["pause_selected", "resume_selected", "cancel_selected"]
    change_list_template = "admin/broadcasts/broadcast/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the CSV upload (or the API) creates broadcasts

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            # CSRF is checked inside upload_view: the middleware would read the body before
            # the view could put its size limit in front of the upload handlers.
            path("upload/", wrap(csrf_exempt(self.upload_view)), name="broadcasts_broadcast_upload"),
            path("<uuid:broadcast_id>/map/", wrap(self.map_view), name="broadcasts_broadcast_map"),
            path("<uuid:broadcast_id>/report/", wrap(self.report_view), name="broadcasts_broadcast_report"),
            path(
                "<uuid:broadcast_id>/progress/",
                wrap(self.progress_view),
                name="broadcasts_broadcast_progress",
            ),
            *self.audience_urls(),
            *super().get_urls(),
        ]

    @admin.display(description="Progress")
    def progress_bar(self, obj: Broadcast) -> SafeString:
        """Polled while it runs. Once done the bar shows the share of messages that went out,
        so a broadcast that sent nothing shows an empty bar and says so."""
        progress_url = reverse("admin:broadcasts_broadcast_progress", args=[obj.id])
        return format_html(
            '<div class="sb-progress" data-url="{}"><progress max="100" value="0" aria-label="{}">'
            '</progress> <span class="sb-progress-text" role="status">…</span></div>',
            progress_url,
            f"Progress of {obj.name}",
        )

    @admin.display(description="Channels")
    def channel_list(self, obj: Broadcast) -> str:
        return ", ".join(obj.channels or ()) or "every channel the template has"

    @admin.display(description="Columns of the file")
    def columns(self, obj: Broadcast) -> str:
        if not obj.column_mapping:
            return "—"
        words = dict(ROLES)
        return labelled_rows(
            [(column, str(words.get(role, role))) for column, role in obj.column_mapping.items()]
        )

    @admin.display(description="Skipped rows, by reason")
    def skipped_reasons(self, obj: Broadcast) -> SafeString:
        rows = broadcast_skipped_reasons(broadcast=obj)
        if not rows:
            return format_html("{}", "None")
        return format_html(
            '<ul class="sb-skipped" style="margin: 0; padding: 0 0 0 1.2em;">{}</ul>',
            format_html_join(
                "",
                "<li>{} {}: {} (first: row {})</li>",
                ((n, "row" if n == 1 else "rows", e, r) for n, e, r in rows),
            ),
        )

    @admin.display(description="Segment")
    def segment(self, obj: Broadcast) -> str:
        """A filter audience in words (it was raw JSON here)."""
        return filter_words(obj.audience_filter) if obj.audience_filter else "-"

    @admin.display(description="Validation report")
    def validation_summary(self, obj: Broadcast) -> str:
        """The report in words (it was raw JSON here)."""
        report = obj.validation_report or {}
        if not report:
            return "-"
        if report.get("audience") == "filter":
            forecast = report.get("forecast") or {}
            return (
                f"{report.get('matched', 0)} contacts matched when counted; of the "
                f"{forecast.get('messages', 0)} messages checked, {forecast.get('allowed', 0)} would be sent."
            )
        reasons = ", ".join(f"{reason} {n}" for reason, n in (report.get("reasons") or {}).items())
        said = f"{report.get('rows', 0)} rows: {report.get('valid', 0)} recipients, {report.get('skipped', 0)} skipped"
        said += f" ({reasons})" if reasons else ""
        forecast = report.get("forecast") or {}
        if forecast:
            blocked = ", ".join(f"{b['reason']} {b['count']}" for b in forecast.get("blocked", []))
            deferred = sum(d["count"] for d in forecast.get("deferred", []))
            said += (
                f". Forecast before Start: {forecast.get('allowed', 0)} of {forecast.get('messages', 0)} "
                f"messages would be sent"
                + (f", blocked: {blocked}" if blocked else "")
                + (f", {deferred} would wait" if deferred else "")
            )
        return said + "."

    def _can_send(self, request: HttpRequest) -> None:
        if not request.user.has_perm("broadcasts.add_broadcast"):
            raise PermissionDenied

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        limit = CsvSizeLimit(request)
        request.upload_handlers.insert(0, limit)
        return csrf_protect(self._upload)(request, limit)

    def _upload(self, request: HttpRequest, limit: CsvSizeLimit) -> HttpResponse:
        self._can_send(request)
        form = CsvUploadForm(request.POST or None, request.FILES or None)
        if limit.exceeded:
            form.add_error(
                None, f"The file is larger than {limit.limit // (1024 * 1024)} MB; nothing was kept."
            )
            return self._upload_page(request, form, status=413)
        if request.method == "POST" and form.is_valid():
            try:
                broadcast = broadcast_csv_draft_create(
                    settings=form.settings(), csv_text=form.cleaned_data["csv_file"], user_id=request.user.pk
                )
            except BroadcastRejected as exc:
                form.add_error("csv_file", exc.detail)
            else:
                return HttpResponseRedirect(reverse("admin:broadcasts_broadcast_map", args=[broadcast.id]))
        return self._upload_page(request, form)

    def _upload_page(self, request: HttpRequest, form: CsvUploadForm, status: int = 200) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a CSV broadcast",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/broadcasts/broadcast/upload.html", context, status=status)

    def map_view(self, request: HttpRequest, broadcast_id: UUID) -> HttpResponse:
        self._can_send(request)
        broadcast = get_object_or_404(Broadcast, id=broadcast_id, status=BroadcastStatus.DRAFT)
        columns = csv_columns(broadcast.csv_text)
        form = MappingForm(
            request.POST or None,
            columns=columns,
            initial_mapping=broadcast.column_mapping or guess_mapping(columns),
        )
        if request.method == "POST" and form.is_valid():
            try:
                broadcast_csv_prepare(
                    broadcast=broadcast, mapping=form.mapping(), actor=Actor.user(request.user.pk)
                )
            except BroadcastRejected as exc:
                form.add_error(None, exc.detail)
            else:
                return HttpResponseRedirect(reverse("admin:broadcasts_broadcast_report", args=[broadcast.id]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Map the columns of “{broadcast.name}”",
            "form": form,
            "broadcast": broadcast,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/broadcasts/broadcast/map.html", context)

    def report_view(self, request: HttpRequest, broadcast_id: UUID) -> HttpResponse:
        self._can_send(request)
        broadcast = get_object_or_404(Broadcast, id=broadcast_id)
        if request.method == "POST":
            try:
                broadcast_start(broadcast=broadcast, actor=Actor.user(request.user.pk))
            except BroadcastRejected as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, "The broadcast has started.")
                return HttpResponseRedirect(reverse("admin:broadcasts_broadcast_change", args=[broadcast.id]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Validation report: “{broadcast.name}”",
            "broadcast": broadcast,
            "report": broadcast.validation_report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/broadcasts/broadcast/report.html", context)

    def progress_view(self, request: HttpRequest, broadcast_id: UUID) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        broadcast = get_object_or_404(Broadcast, id=broadcast_id)
        progress = broadcast_progress(broadcast=broadcast)
        summary = broadcast_progress_summary(progress, broadcast.get_status_display())
        return JsonResponse({"status": broadcast.status, **progress, "summary": summary})

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Every field is read-only: a broadcast changes through its actions, never by a form.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def _steer(self, request: HttpRequest, queryset: QuerySet[Broadcast], service: Any, verb: str) -> None:
        done = 0
        for broadcast in queryset:
            try:
                service(broadcast=broadcast, actor=Actor.user(request.user.pk))
                done += 1
            except BroadcastRejected as exc:
                self.message_user(request, f"{broadcast}: {exc.detail}", messages.WARNING)
        self.message_user(request, f"{verb} {done} broadcast(s).", messages.SUCCESS)

    @admin.action(description="Pause selected broadcasts", permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        self._steer(request, queryset, broadcast_pause, "Paused")

    @admin.action(description="Resume selected broadcasts", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        self._steer(request, queryset, broadcast_resume, "Resumed")

    @admin.action(description="Cancel selected broadcasts", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Broadcast]) -> None:
        self._steer(request, queryset, broadcast_cancel, "Cancelled")
