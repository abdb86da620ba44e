"""Template list (filters, version history, export/import) and email layouts."""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from audit.services import Actor
from templates_app.admin.forms import ImportForm, NewDraftForm, staff_user
from templates_app.models import Channel, EmailLayout, Template, TemplateVersion, VersionStatus
from templates_app.services import (
    ImportFailed,
    email_layout_save,
    template_create,
    template_draft_create,
    template_draft_from,
    template_update,
    templates_export,
    templates_import,
)

BLANK_VARIANT: dict[str, dict[str, Any]] = {
    Channel.SMS: {"text": ""},
    Channel.EMAIL: {"subject": "", "html": ""},
    Channel.PUSH: {"title": "", "text": ""},
}


class LiveChannelFilter(admin.SimpleListFilter):
    title = "channel"
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Channel.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(versions__variants__channel=self.value()).distinct()
        return queryset


class VersionStatusFilter(admin.SimpleListFilter):
    title = "has a version that is"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*VersionStatus.choices, ("live", "Live"), ("not_live", "Not live yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "live":
            return queryset.filter(live_version__isnull=False)
        if value == "not_live":
            return queryset.filter(live_version__isnull=True)
        if value:
            return queryset.filter(versions__status=value).distinct()
        return queryset


class VersionHistoryInline(admin.TabularInline[TemplateVersion, Template]):
    model = TemplateVersion
    fk_name = "template"
    extra = 0
    can_delete = False
    verbose_name_plural = "version history"
    fields = ("open", "status", "author", "created_at", "submitted_at", "reviewed_by", "review_comment")
    readonly_fields = fields
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="version")
    def open(self, obj: TemplateVersion) -> str:
        url = reverse("admin:templates_app_templateversion_change", args=[obj.pk])
        live = " (live)" if obj.template.live_version_id == obj.pk else ""
        return format_html('<a href="{}">v{}{}</a>', url, obj.number, live)


MEASUREMENT_FIELDS = ("tracking", "goal_event", "attribution_days")


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin[Template]):
    list_display = ("key", "name", "category", "channels", "live", "created_at")
    list_filter = ("category", LiveChannelFilter, VersionStatusFilter)
    search_fields = ("key", "name", "description")
    inlines = [VersionHistoryInline]
    actions = ["export_selected"]
    change_form_template = "admin/templates_app/template/change_form.html"
    change_list_template = "admin/templates_app/template/change_list.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Template | None = None) -> tuple[str, ...]:
        # The category decides which compliance rules apply: fixed once the template exists,
        # so content approved as transactional can never be re-labelled by an edit.
        return ("key", "category", "live_version") if obj else ("live_version",)

    def get_form(
        self, request: HttpRequest, obj: Template | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)

        class TemplateForm(base):  # type: ignore[valid-type,misc]
            """The measurement settings keep their current values (the defaults, for a new
            template) when a post leaves them out."""

            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, **form_kwargs)
                for name in MEASUREMENT_FIELDS:
                    if name in self.fields:
                        self.fields[name].required = False
                if self.is_bound and self.instance.pk is not None:
                    data: Any = cast(Any, self).data.copy()
                    for name in MEASUREMENT_FIELDS:
                        if name in self.fields and name not in data:
                            data[name] = getattr(self.instance, name)
                    self.data = data

        return TemplateForm

    def get_fields(self, request: HttpRequest, obj: Template | None = None) -> tuple[str, ...]:
        return (
            "key",
            "name",
            "description",
            "category",
            "default_locale",
            "tracking",
            "goal_event",
            "attribution_days",
            "live_version",
        )

    @admin.display(description="channels")
    def channels(self, obj: Template) -> str:
        version = obj.live_version or obj.versions.first()
        if version is None:
            return "—"
        return ", ".join(sorted({v.get_channel_display() for v in version.variants.all()})) or "—"

    @admin.display(description="live version")
    def live(self, obj: Template) -> str:
        return f"v{obj.live_version.number}" if obj.live_version else "not live"

    def save_model(self, request: HttpRequest, obj: Template, form: Any, change: bool) -> None:
        if change:
            template_update(template=obj, actor=Actor.user(request.user.pk), changed=form.changed_data)
            return
        created = template_create(
            key=obj.key,
            name=obj.name,
            category=obj.category,
            description=obj.description,
            default_locale=obj.default_locale,
            tracking=obj.tracking,
            goal_event=obj.goal_event,
            attribution_days=obj.attribution_days,
            actor=Actor.user(request.user.pk),
        )
        obj.pk = created.pk
        obj._state = created._state

    def response_add(
        self, request: HttpRequest, obj: Template, post_url_continue: str | None = None
    ) -> HttpResponse:
        messages.success(
            request, f"Template {obj.key} created. Now choose its channels and write the first draft."
        )
        return HttpResponseRedirect(reverse("admin:templates_app_template_new_draft", args=[obj.pk]))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/new-draft/",
                self.admin_site.admin_view(self.new_draft_view),
                name="templates_app_template_new_draft",
            ),
            path(
                "import/", self.admin_site.admin_view(self.import_view), name="templates_app_template_import"
            ),
            *super().get_urls(),
        ]

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Start a new draft: a copy of the newest version, or blank variants for the chosen channels."""
        if not request.user.has_perm("templates_app.add_templateversion"):
            raise PermissionDenied
        template = get_object_or_404(Template, pk=pk)
        source = template.versions.order_by("-number").first()
        form = NewDraftForm(request.POST or None, initial={"locales": template.default_locale})
        if request.method == "POST" and form.is_valid():
            if source is not None:
                version = template_draft_from(
                    version=source, author=staff_user(request), comment=form.cleaned_data["comment"]
                )
            else:
                locales = [loc.strip() for loc in form.cleaned_data["locales"].split(",") if loc.strip()]
                variants = [
                    {"channel": ch, "locale": loc, **BLANK_VARIANT[ch]}
                    for ch in form.cleaned_data["channels"]
                    for loc in locales or [template.default_locale]
                ]
                version = template_draft_create(
                    template=template,
                    author=staff_user(request),
                    variants=variants,
                    comment=form.cleaned_data["comment"],
                )
            messages.success(
                request, f"Draft v{version.number} created. Write it, preview it, then submit it."
            )
            return HttpResponseRedirect(
                reverse("admin:templates_app_templateversion_change", args=[version.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"New draft of {template.key}",
            "template_obj": template,
            "source": source,
            "form": form,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/templates_app/template/new_draft.html", context)

    @admin.action(description="Export selected templates as JSON", permissions=["export"])
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Template]) -> HttpResponse:
        document = templates_export(keys=queryset.values_list("key", flat=True))
        response = HttpResponse(
            json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="templates.json"'
        return response

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("templates_app.export_template")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload an export; every template in it arrives as a draft that needs approval here."""
        if not request.user.has_perm("templates_app.import_template"):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                document = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
                report = templates_import(document=document, user=staff_user(request))
            except (ValueError, UnicodeDecodeError):
                form.add_error("file", "This file is not JSON made by the template export.")
            except ImportFailed as exc:
                for problem in exc.problems:
                    form.add_error("file", problem)
            else:
                messages.success(
                    request,
                    f"Imported as drafts needing approval: {', '.join(report.drafts) or 'none'}. "
                    f"Unchanged: {', '.join(report.unchanged) or 'none'}.",
                )
                return HttpResponseRedirect(reverse("admin:templates_app_template_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import templates",
            "form": form,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/templates_app/template/import.html", context)


@admin.register(EmailLayout)
class EmailLayoutAdmin(admin.ModelAdmin[EmailLayout]):
    list_display = ("name", "postal_address", "created_at")
    search_fields = ("name",)

    def save_model(self, request: HttpRequest, obj: EmailLayout, form: Any, change: bool) -> None:
        email_layout_save(layout=obj, actor=Actor.user(request.user.pk), changed=form.changed_data)
