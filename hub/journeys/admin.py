"""Plain registrations (the step-by-step editor, diagram and simulation are issue 17.3).

Versions, runs and events are read-only here: versions change through the services (so
maker-checker and the audit hold), runs through the engine."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin_base import ReadOnlyAdmin
from hub.journeys.models import Event, Journey, JourneyRun, JourneyRunEntry, JourneyVersion


class JourneyVersionInline(admin.TabularInline[JourneyVersion, Journey]):
    model = JourneyVersion
    fields = ("number", "status", "trigger_event", "author", "submitted_at", "reviewed_by", "reviewed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Journey)
class JourneyAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "live_version", "created_at")
    search_fields = ("key", "name")
    inlines = (JourneyVersionInline,)


@admin.register(JourneyVersion)
class JourneyVersionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "trigger_event", "author", "reviewed_by", "created_at")
    list_filter = ("status",)


class JourneyRunEntryInline(admin.TabularInline[JourneyRunEntry, JourneyRun]):
    model = JourneyRunEntry
    fields = ("at", "kind", "step", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JourneyRun)
class JourneyRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "journey", "version", "contact", "status", "step", "wake_at", "created_at")
    list_filter = ("status",)
    search_fields = ("contact__external_id",)
    inlines = (JourneyRunEntryInline,)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("name", "contact", "event_id", "occurred_at", "received_at")
    search_fields = ("name", "contact__external_id", "event_id")
