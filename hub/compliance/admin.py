"""Admin for compliance officers: rules edited as versions, with a dry run before saving."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from audit.admin_base import labelled_rows
from hub.compliance.forms import VERSION_FIELDS, PreviewForm, RuleForm, params_fieldsets, params_layout
from hub.compliance.models import Rule, RuleVersion
from hub.compliance.params import PARAM_KINDS, params_rows
from hub.compliance.preview import rules_with_change
from hub.compliance.rules import rules_current
from hub.compliance.services import rule_create, rule_version_create
from hub.messaging.rule_preview import messages_preview_rules


class RuleVersionInline(admin.TabularInline[RuleVersion, Rule]):
    model = RuleVersion
    extra = 0
    fields = (
        "number",
        "enabled",
        "category",
        "channel",
        "countries",
        "effect",
        "parameters",
        "note",
        "created_by",
        "created_at",
    )
    readonly_fields = fields
    can_delete = False
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="settings")
    def parameters(self, obj: RuleVersion) -> str:
        return labelled_rows(params_rows(obj.rule.kind, obj.params))


def _version_rows(version: RuleVersion) -> list[tuple[str, str]]:
    countries = ", ".join(version.countries) or "every country"
    return [
        ("Version", f"v{version.number}{'' if version.enabled else ' (disabled)'}"),
        (
            "Applies to",
            f"{version.category or 'every category'}, {version.channel or 'every channel'}, {countries}",
        ),
        ("Effect", version.get_effect_display()),
        *params_rows(version.rule.kind, version.params),
    ]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin[Rule]):
    form = RuleForm
    list_display = ("key", "kind", "current_version", "scope", "description")
    search_fields = ("key", "description")
    list_filter = ("kind",)
    inlines = [RuleVersionInline]
    change_form_template = "admin/compliance/rule/change_form.html"

    class Media:
        js = ("compliance/rule_kind.js",)

    def get_fieldsets(self, request: HttpRequest, obj: Rule | None = None) -> Any:
        identity = (None, {"fields": ("key", "kind", "description")})
        if obj is not None and not self.has_change_permission(request, obj):
            return [identity, ("Current version", {"fields": ("current_settings",)})]
        latest = obj.versions.order_by("-number").first() if obj is not None else None
        layout = params_layout(
            kind=obj.kind if obj is not None else None,
            params=latest.params if latest is not None else {},
            data=request.POST if request.method == "POST" else None,
        )
        fieldsets = [
            identity,
            (
                "Next version (saving makes a new version; use “Preview this change” first)",
                {"fields": VERSION_FIELDS},
            ),
            *params_fieldsets(layout),
        ]
        if obj is not None and obj.kind not in PARAM_KINDS:
            fieldsets.append(("Settings", {"fields": ("no_settings",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Rule | None = None) -> Any:
        if obj is not None and not self.has_change_permission(request, obj):
            return ("key", "kind", "description", "current_settings")
        return ("no_settings",) if obj is not None and obj.kind not in PARAM_KINDS else ()

    def get_form(
        self, request: HttpRequest, obj: Rule | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        # The parameter fields are the form's own (built per kind); the model gives only these.
        kwargs["fields"] = [
            f for f in ("key", "kind", "description") if f not in self.get_readonly_fields(request, obj)
        ]
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description="settings")
    def no_settings(self, obj: Rule) -> str:
        return "None: this kind of rule has no settings of its own; choose its scope above."

    @admin.display(description="in force")
    def current_settings(self, obj: Rule) -> str:
        latest = obj.versions.order_by("-number").first()
        if latest is None:
            return "—"
        return labelled_rows(_version_rows(latest))

    @admin.display(description="current version")
    def current_version(self, obj: Rule) -> str:
        latest = obj.versions.order_by("-number").first()
        if latest is None:
            return "-"
        return f"v{latest.number} ({latest.effect}{'' if latest.enabled else ', disabled'})"

    @admin.display(description="scope")
    def scope(self, obj: Rule) -> str:
        latest = obj.versions.order_by("-number").first()
        if latest is None:
            return "-"
        countries = ",".join(latest.countries) or "any country"
        return f"{latest.category or 'any category'} / {latest.channel or 'any channel'} / {countries}"

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # decisions name rule versions: rules are disabled, never deleted

    def save_model(self, request: HttpRequest, obj: Rule, form: ModelForm[Rule], change: bool) -> None:
        assert isinstance(form, RuleForm)  # noqa: S101 - this admin's form
        user = request.user if request.user.is_authenticated else None
        with transaction.atomic():
            if not change:
                created = rule_create(
                    key=obj.key,
                    kind=obj.kind,
                    description=obj.description,
                    user=user,
                    **form.version_values(),
                )
                obj.pk = created.pk
                return
            obj.save(update_fields=["description"])
            if form.version_changed():
                rule_version_create(rule=obj, user=user, **form.version_values())

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<int:rule_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="compliance_rule_preview",
            )
        ]
        return urls + super().get_urls()

    def preview_view(self, request: HttpRequest, rule_id: int) -> HttpResponse:
        """Dry run: the rule as changed in this form (or in the change form, whose "Preview this
        change" button posts here, edits and all) against the last N days of messages."""
        rule = get_object_or_404(Rule, pk=rule_id)
        if not (
            self.has_change_permission(request, rule) or request.user.has_perm("compliance.preview_rule")
        ):
            raise PermissionDenied
        form = RuleForm(request.POST or None, instance=rule)
        # The change form's "Preview this change" posts its edits here without a period.
        posted = request.POST.copy()
        posted.setdefault("days", str(PreviewForm.base_fields["days"].initial))
        period = PreviewForm(posted if request.method == "POST" else None)
        report = None
        if request.method == "POST" and form.is_valid() and period.is_valid():
            if "_save" in request.POST and self.has_change_permission(request, rule):
                self.save_model(request, rule, form, change=True)
                messages.success(request, f"Saved a new version of {rule.key}.")
                return HttpResponseRedirect(reverse("admin:compliance_rule_change", args=[rule.pk]))
            current = rules_current()
            proposed = rules_with_change(current, key=rule.key, replacement=form.proposed_spec())
            report = messages_preview_rules(
                current=current, proposed=proposed, days=period.cleaned_data["days"], now=timezone.now()
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview a change to {rule.key}",
            "opts": self.model._meta,
            "original": rule,
            "form": form,
            "period": period,
            "report": report,
            "can_save": self.has_change_permission(request, rule),
        }
        return TemplateResponse(request, "admin/compliance/rule/preview.html", context)
