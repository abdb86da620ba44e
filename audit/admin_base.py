"""The admin base for rows written only through the services (audit records, messages,
contacts, the consent ledger, workspace pages): they are read in admin, and not even a
superuser adds, edits or deletes one by hand. In ``audit``, the lowest layer, so that the
audit admin and ``hub`` share it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
