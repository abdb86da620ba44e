from __future__ import annotations

from django.contrib import admin

from hub.contacts.models import Contact


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    list_display = ("external_id", "email", "phone", "locale", "timezone", "updated_at")
    search_fields = ("external_id", "email", "phone")
    show_full_result_count = False
