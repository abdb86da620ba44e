"""The version editor's parts: inlines that freeze with the version, and list filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from templates_app.models import TemplateVariable, TemplateVariant, TemplateVersion


class _DraftOnlyInline:
    """Inline rows can change only while the version is a draft."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_add_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj) and super().has_delete_permission(request, obj)  # type: ignore[misc]


def _editable(obj: Any) -> bool:
    return obj is None or (isinstance(obj, TemplateVersion) and obj.is_editable)


class VariableInline(_DraftOnlyInline, admin.StackedInline[TemplateVariable, TemplateVersion]):
    """Stacked, not a table: each field has its own label and help text (screen readers), and
    a variable fits the editor's column beside the preview."""

    model = TemplateVariable
    extra = 0
    fields = ("name", "type", "required", "example", "description")
    verbose_name_plural = "variables (what the sending service must provide)"


class VariantForm(forms.ModelForm[TemplateVariant]):
    class Meta:
        model = TemplateVariant
        fields = ("channel", "locale", "subject", "preheader", "html", "text", "title", "link", "data")
        widgets = {
            "html": forms.Textarea(attrs={"rows": 8, "cols": 90, "class": "vLargeTextField"}),
            "text": forms.Textarea(attrs={"rows": 4, "cols": 90}),
            "data": forms.Textarea(attrs={"rows": 2, "cols": 60}),
        }


class VariantInline(_DraftOnlyInline, admin.StackedInline[TemplateVariant, TemplateVersion]):
    model = TemplateVariant
    form = VariantForm
    extra = 0
    verbose_name = "content"
    verbose_name_plural = "content per channel and language"


class ChannelFilter(admin.SimpleListFilter):
    title = "channel"
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("sms", "SMS"), ("email", "Email"), ("push", "Push")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(variants__channel=self.value()).distinct()
        return queryset
