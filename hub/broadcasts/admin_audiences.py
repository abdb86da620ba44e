"""Audiences a marketer builds in admin, beside the CSV broadcast: importing contacts from a
CSV (checked first, then imported once) and a broadcast to a segment built from fields, with
its audience count and compliance forecast before Start. Thin: the work is in
``hub.contacts.imports`` and ``hub.broadcasts.segments``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from audit.services import Actor
from hub.broadcasts.drafts import DraftSettings
from hub.broadcasts.errors import BroadcastRejected
from hub.broadcasts.models import Broadcast
from hub.broadcasts.segments import OPERATORS, Condition, broadcast_segment_draft_create
from hub.broadcasts.upload_limit import CsvSizeLimit
from hub.contacts.imports import ImportRejected, contact_import_apply, contact_import_check
from hub.contacts.models import ContactImport
from hub.contacts.selectors import contact_attribute_names
from hub.messaging.models import Routing
from templates_app.models import Template

IMPORT_PERMISSION = "contacts.add_contactimport"
CHANNELS = (("sms", "SMS"), ("email", "Email"), ("push", "Push"))
CONDITION_ROWS = 4


class ContactImportForm(forms.Form):
    csv_file = forms.FileField(
        label="Contacts CSV",
        help_text="UTF-8 with a header row: external_id, then any of email, phone, locale, timezone, "
        "consent columns with their evidence, and attribute columns (see above).",
    )

    def clean_csv_file(self) -> str:
        upload = self.cleaned_data["csv_file"]
        self.file_name = str(upload.name or "")
        try:
            return str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text.") from exc


class DraftSettingsForm(forms.Form):
    """What a draft broadcast made in admin needs, whatever its audience."""

    name = forms.CharField(max_length=200)
    template = forms.ModelChoiceField(
        queryset=Template.objects.filter(live_version__isnull=False).order_by("key")
    )
    channels = forms.MultipleChoiceField(
        choices=CHANNELS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="In order SMS, email, push; none: every channel the template has.",
    )
    routing = forms.ChoiceField(choices=Routing.choices, initial=Routing.FIRST)
    rate_per_minute = forms.IntegerField(min_value=1, required=False, help_text="Empty: as fast as possible.")
    send_at = forms.DateTimeField(
        required=False,
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "This must be a date and time, e.g. 2030-01-31 09:00."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The viewer's zone (hub.viewer_zone) is active: the picker reads and shows times in it.
        self.fields[
            "send_at"
        ].help_text = (
            f"In your time zone, {timezone.get_current_timezone_name()}. Empty: when you press Start."
        )

    def clean_send_at(self) -> datetime | None:
        send_at: datetime | None = self.cleaned_data.get("send_at")
        if send_at is not None and send_at <= timezone.now():
            raise forms.ValidationError(
                "This time has passed: choose a later one, or leave it empty to send at Start."
            )
        return send_at

    def settings(self) -> DraftSettings:
        data = self.cleaned_data
        return DraftSettings(
            name=data["name"],
            template=data["template"],
            channels=[c for c, _ in CHANNELS if c in data["channels"]],
            routing=data["routing"],
            rate_per_minute=data["rate_per_minute"],
            send_at=data["send_at"],
        )


class ConditionForm(forms.Form):
    attribute = forms.CharField(
        max_length=64, required=False, widget=forms.TextInput(attrs={"list": "sb-attributes", "size": 18})
    )
    operator = forms.ChoiceField(choices=list(OPERATORS.items()), required=False)
    # No help_text: the page explains the operators once, under the table.
    value = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"size": 24}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rows share the column headings: each field is named for its row aloud.
        number = str(self.prefix or "").rsplit("-", 1)[-1]
        row = int(number) + 1 if number.isdigit() else 0
        for name, field in self.fields.items():
            field.widget.attrs["aria-label"] = f"Condition {row}: {name}"


ConditionFormSet = forms.formset_factory(ConditionForm, extra=CONDITION_ROWS, max_num=20)


class AudienceViews(admin.ModelAdmin[Broadcast]):
    """The import and segment pages of the broadcast admin."""

    def audience_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            # CSRF is checked inside the view, after the upload's size limit (as for the CSV broadcast).
            path(
                "import-contacts/",
                wrap(csrf_exempt(self.contacts_import_view)),
                name="broadcasts_broadcast_import_contacts",
            ),
            path(
                "import-contacts/<uuid:import_id>/",
                wrap(self.contacts_import_report_view),
                name="broadcasts_broadcast_import_report",
            ),
            path("segment/", wrap(self.segment_view), name="broadcasts_broadcast_segment"),
        ]

    def _page(self, request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
        status = context.pop("status", 200)
        return TemplateResponse(
            request,
            f"admin/broadcasts/broadcast/{template}",
            {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **context},
            status=status,
        )

    # --- Import contacts -------------------------------------------------------------------
    def contacts_import_view(self, request: HttpRequest) -> HttpResponse:
        limit = CsvSizeLimit(request)
        request.upload_handlers.insert(0, limit)
        return csrf_protect(self._contacts_import)(request, limit)

    def _contacts_import(self, request: HttpRequest, limit: CsvSizeLimit) -> HttpResponse:
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        form = ContactImportForm(request.POST or None, request.FILES or None)
        status = 200
        if limit.exceeded:
            form.add_error(
                None, f"The file is larger than {limit.limit // (1024 * 1024)} MB; nothing was kept."
            )
            status = 413
        elif request.method == "POST" and form.is_valid():
            try:
                checked = contact_import_check(
                    csv_text=form.cleaned_data["csv_file"], file_name=form.file_name, user_id=request.user.pk
                )
            except ImportRejected as exc:
                form.add_error("csv_file", exc.detail)
            else:
                return HttpResponseRedirect(
                    reverse("admin:broadcasts_broadcast_import_report", args=[checked.pk])
                )
        return self._page(request, "import.html", "Import contacts", form=form, status=status)

    def contacts_import_report_view(self, request: HttpRequest, import_id: UUID) -> HttpResponse:
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        contact_import = get_object_or_404(ContactImport, pk=import_id)
        if request.method == "POST":
            try:
                contact_import_apply(contact_import=contact_import, actor=Actor.user(request.user.pk))
            except ImportRejected as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, "The contacts were imported.")
            return HttpResponseRedirect(request.path)
        report = contact_import.report
        return self._page(
            request,
            "import_report.html",
            f"Contacts import: “{contact_import}”",
            contact_import=contact_import,
            report=report,
        )

    # --- Segment broadcast ----------------------------------------------------------------
    def segment_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("broadcasts.add_broadcast"):
            raise PermissionDenied
        form = DraftSettingsForm(request.POST or None)
        conditions = ConditionFormSet(request.POST or None, prefix="conditions")
        if request.method == "POST" and form.is_valid() and conditions.is_valid():
            rows = [
                (i, Condition(c["attribute"].strip(), c["operator"], c["value"]))
                for i, c in enumerate(conditions.cleaned_data)
                if c.get("attribute", "").strip()
            ]
            try:
                broadcast = broadcast_segment_draft_create(
                    settings=form.settings(), conditions=[c for _, c in rows], user_id=request.user.pk
                )
            except BroadcastRejected as exc:
                self._condition_error(conditions, rows, exc)
            else:
                return HttpResponseRedirect(reverse("admin:broadcasts_broadcast_report", args=[broadcast.id]))
        return self._page(
            request,
            "segment.html",
            "New broadcast to a segment",
            form=form,
            conditions=conditions,
            attribute_names=contact_attribute_names(),
        )

    @staticmethod
    def _condition_error(conditions: Any, rows: list[tuple[int, Condition]], exc: BroadcastRejected) -> None:
        """Put a refusal on the field it names (``conditions-<n>-<field>``, n counting the
        filled rows), else above the conditions."""
        parts = exc.field.split("-")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            form = conditions.forms[rows[int(parts[1])][0]]
            form.add_error(parts[2], exc.detail)
        else:
            conditions._non_form_errors = conditions.error_class([exc.detail])
