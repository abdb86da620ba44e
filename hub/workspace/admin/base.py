from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit.admin_base import ReadOnlyAdmin


class ReadOnlyWorkspaceAdmin(ReadOnlyAdmin):
    """Workspace pages only read: nothing is added, changed or deleted through them."""

    def context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **extra}
