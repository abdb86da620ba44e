"""The version editor (live preview, diff, test send, submit) and compliance review."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from audit.services import Actor
from templates_app.admin.forms import ReviewForm, SubmitForm, TestSendForm, posted_content, staff_user
from templates_app.admin.inlines import ChannelFilter, VariableInline, VariantInline
from templates_app.models import (
    TemplateVersion,
    VersionStatus,
)
from templates_app.preview import content_preview, version_compare, version_diff, version_preview
from templates_app.rendering.core import layout_as_dict
from templates_app.rendering.variables import RESERVED_VARIABLES
from templates_app.services import (
    TemplateLintFailed,
    TemplateWorkflowError,
    TestSendFailed,
    template_draft_edited,
    template_draft_from,
    template_version_approve,
    template_version_reject,
    template_version_submit,
    template_version_test_outcomes,
    template_version_test_send,
    test_send_summary,
    version_makers,
)
from templates_app.services.review import review_refusal, submit_note


class VersionEditForm(forms.ModelForm[TemplateVersion]):
    change_note = forms.CharField(
        required=False,
        label="What did you change?",
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Kept in the audit trail with your edit.",
    )

    class Meta:
        model = TemplateVersion
        fields = ("layout",)


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin[TemplateVersion]):
    form = VersionEditForm
    list_display = ("__str__", "status", "category", "author", "created_at", "submitted_at", "reviewed_by")
    list_filter = ("status", "template__category", ChannelFilter)
    search_fields = ("template__key", "template__name")
    inlines = [VariableInline, VariantInline]
    change_form_template = "admin/templates_app/templateversion/change_form.html"
    readonly_fields = (
        "template",
        "number",
        "status",
        "author",
        "submitted_at",
        "reviewed_by",
        "review_comment",
    )

    def get_fields(self, request: HttpRequest, obj: TemplateVersion | None = None) -> tuple[str, ...]:
        fields = ["template", "number", "status", "author", "layout"]
        if obj is not None and obj.is_editable:
            fields.append("change_note")
        if obj is not None and obj.reviewed_by_id:
            fields += ["reviewed_by", "review_comment"]
        return tuple(fields)

    @admin.display(description="category", ordering="template__category")
    def category(self, obj: TemplateVersion) -> str:
        return obj.template.get_category_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new drafts start from the template page ("Write a new draft")

    def has_change_permission(self, request: HttpRequest, obj: TemplateVersion | None = None) -> bool:
        if obj is not None and not obj.is_editable:
            return False  # submitted versions are frozen; the page shows them read-only
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: TemplateVersion | None = None) -> bool:
        return False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        changed = list(form.changed_data)
        for formset in formsets:
            if formset.has_changed():
                changed.append(formset.prefix)
        template_draft_edited(
            version=form.instance,
            actor=Actor.user(request.user.pk),
            comment=form.cleaned_data.get("change_note", ""),
            changed=[c for c in changed if c != "change_note"],
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        version = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if version is not None:
            extra.update(self._version_context(request, version))
        return super().change_view(request, object_id, form_url, extra)

    def _version_context(self, request: HttpRequest, version: TemplateVersion) -> dict[str, Any]:
        user = request.user
        live = version.template.live_version
        return {
            "version": version,
            "live_version": live,
            "is_live": live is not None and live.pk == version.pk,
            "can_submit": version.is_editable and user.has_perm("templates_app.submit_templateversion"),
            "can_review": version.status in (VersionStatus.IN_REVIEW, VersionStatus.APPROVED)
            and user.has_perm("templates_app.approve_templateversion"),
            "can_test": user.has_perm("templates_app.test_send_templateversion"),
            "can_new_draft": not version.is_editable and user.has_perm("templates_app.add_templateversion"),
            "preview_url": reverse("admin:templates_app_templateversion_preview", args=[version.pk]),
            # The names the hub fills itself, offered by the editor's "Insert a variable" list.
            "reserved_variables": json.dumps(sorted(RESERVED_VARIABLES)),
        }

    def get_urls(self) -> list[URLPattern]:
        def view(name: str, func: Any) -> URLPattern:
            pattern: URLPattern = path(
                f"<int:pk>/{name}/",
                self.admin_site.admin_view(func),
                name=f"templates_app_templateversion_{name.replace('-', '_')}",
            )
            return pattern

        return [
            view("preview", self.preview_view),
            view("submit", self.submit_view),
            view("review", self.review_view),
            view("diff", self.diff_view),
            view("test-send", self.test_send_view),
            view("test-result", self.test_result_view),
            view("new-draft", self.new_draft_view),
            *super().get_urls(),
        ]

    def _version(self, request: HttpRequest, pk: int, perm: str = "view_templateversion") -> TemplateVersion:
        if not request.user.has_perm(f"templates_app.{perm}"):
            raise PermissionDenied
        return get_object_or_404(TemplateVersion.objects.select_related("template", "layout"), pk=pk)

    def _render(
        self, request: HttpRequest, template: str, version: TemplateVersion, **context: Any
    ) -> HttpResponse:
        return TemplateResponse(
            request,
            f"admin/templates_app/templateversion/{template}.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": version,
                "version": version,
                "title": context.pop("title", str(version)),
                "change_url": reverse("admin:templates_app_templateversion_change", args=[version.pk]),
                **context,
            },
        )

    def preview_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The editor's live preview: the posted (unsaved) draft, or the saved version."""
        version = self._version(request, pk)
        if request.method == "POST" and version.is_editable and "variants-TOTAL_FORMS" in request.POST:
            variants, specs, layout, problems = posted_content(request.POST)
            result = content_preview(
                category=version.template.category,
                variants=variants,
                specs=specs,
                layout=layout_as_dict(layout),
                tracked=version.template.tracks_links,
            )
            result["findings"] = [
                {
                    "severity": "error",
                    "code": "bad_form",
                    "message": p,
                    "channel": "",
                    "locale": "",
                    "field": "",
                }
                for p in problems
            ] + result["findings"]
        else:
            result = version_preview(version)
        return JsonResponse(result)

    def submit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, "submit_templateversion")
        form = SubmitForm(request.POST or None)
        preview = version_preview(version)
        if request.method == "POST" and form.is_valid():
            try:
                template_version_submit(
                    version=version, actor=Actor.user(request.user.pk), comment=form.cleaned_data["comment"]
                )
            except TemplateLintFailed as exc:
                preview["findings"] = [f.as_dict() for f in exc.findings]
                form.add_error(None, "This version has errors: fix them in the editor, then submit again.")
            except TemplateWorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{version} was sent to compliance for approval.")
                return HttpResponseRedirect(reverse("admin:templates_app_templateversion_change", args=[pk]))
        return self._render(request, "submit", version, form=form, preview=preview, title=f"Submit {version}")

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Compliance: read the version, the author's note, its lint and its changes against
        the live one (side by side, word by word); decide. The buttons show only while a
        decision is possible: not to a maker of the version, not once it is decided."""
        version = self._version(request, pk, "approve_templateversion")
        form = ReviewForm(request.POST or None)
        refusal = review_refusal(
            author_id=version.author_id, makers=version_makers(version), reviewer=staff_user(request)
        )
        if request.method == "POST" and refusal:
            form.add_error(None, refusal)
        elif request.method == "POST" and form.is_valid():
            comment = form.cleaned_data["comment"]
            try:
                if "reject" in request.POST:
                    template_version_reject(version=version, reviewer=staff_user(request), comment=comment)
                    messages.success(
                        request, f"{version} was rejected; the author has been given your reason."
                    )
                else:
                    template_version_approve(version=version, approver=staff_user(request), comment=comment)
                    messages.success(request, f"{version} is now live.")
            except TemplateWorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                return HttpResponseRedirect(reverse("admin:templates_app_approvalqueueentry_changelist"))
        live = version.template.live_version
        version.refresh_from_db()
        is_live = live is not None and live.pk == version.pk
        other = live if live is not None and not is_live else None
        return self._render(
            request,
            "review",
            version,
            form=form,
            preview=version_preview(version),
            diff=version_diff(other, version) if other else None,
            compare=version_compare(other, version) if other else None,
            live_version=live,
            is_live=is_live,
            refusal=refusal,
            can_approve=not refusal
            and (
                version.status == VersionStatus.IN_REVIEW
                or (version.status == VersionStatus.APPROVED and not is_live)
            ),
            can_reject=not refusal and version.status == VersionStatus.IN_REVIEW,
            submit_note=submit_note(
                object_type="template_version", object_id=version.pk, action="template.version_submitted"
            ),
            title=f"Review {version}",
        )

    def diff_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        others = version.template.versions.exclude(pk=version.pk).order_by("-number")
        against_id = request.GET.get("against", "")
        against = (
            others.filter(pk=against_id).first() if against_id.isdigit() else None
        ) or version.template.live_version
        diff = version_diff(against, version) if against and against.pk != version.pk else None
        return self._render(
            request, "diff", version, others=others, against=against, diff=diff, title=f"Changes in {version}"
        )

    def test_send_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, "test_send_templateversion")
        user = staff_user(request)
        form = TestSendForm(request.POST or None, user=user)
        if request.method == "POST" and form.is_valid():
            try:
                notification_id = template_version_test_send(
                    version=version, user=user, addresses=list(form.cleaned_data["addresses"])
                )
            except TestSendFailed as exc:
                form.add_error(None, str(exc))
            else:
                # No "Test sent" here: the result page says what really became of each message.
                result = reverse("admin:templates_app_templateversion_test_result", args=[pk])
                return HttpResponseRedirect(f"{result}?notification={notification_id}")
        return self._render(
            request,
            "test_send",
            version,
            form=form,
            title=f"Send a test of {version} to me",
            addresses_url=reverse("admin:templates_app_staffaddress_changelist"),
        )

    def test_result_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Each message of the user's own test send: its status and, if it was stopped, why."""
        version = self._version(request, pk, "test_send_templateversion")
        notification_id = request.GET.get("notification", "")
        if not notification_id:
            return HttpResponseRedirect(reverse("admin:templates_app_templateversion_test_send", args=[pk]))
        try:
            outcomes = template_version_test_outcomes(
                version=version, user=staff_user(request), notification_id=notification_id
            )
        except TestSendFailed as exc:
            raise PermissionDenied(str(exc)) from exc
        return self._render(
            request,
            "test_result",
            version,
            outcomes=outcomes,
            summary=test_send_summary(outcomes),
            all_on_their_way=bool(outcomes) and all(o.on_its_way for o in outcomes),
            notification_id=notification_id,
            again_url=reverse("admin:templates_app_templateversion_test_send", args=[pk]),
            title=f"Your test of {version}",
        )

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, "add_templateversion")
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:templates_app_templateversion_change", args=[pk]))
        draft = template_draft_from(version=version, author=staff_user(request))
        messages.success(request, f"New draft v{draft.number}, copied from v{version.number}.")
        return HttpResponseRedirect(reverse("admin:templates_app_templateversion_change", args=[draft.pk]))
