from __future__ import annotations

from django.contrib import admin

from templates_app.models import Template, TemplateApproval, TemplateVariant, TemplateVersion


class TemplateVariantInline(admin.StackedInline[TemplateVariant, TemplateVersion]):
    model = TemplateVariant
    extra = 0


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin[Template]):
    list_display = ("key", "name", "category", "live_version", "created_at")
    list_filter = ("category",)
    search_fields = ("key", "name")


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin[TemplateVersion]):
    list_display = ("template", "number", "status", "author", "created_at")
    list_filter = ("status",)
    inlines = [TemplateVariantInline]


@admin.register(TemplateApproval)
class TemplateApprovalAdmin(admin.ModelAdmin[TemplateApproval]):
    list_display = ("version", "approved_by", "approved_at")
