"""Admin pages of the workspace (each module registers its own)."""

from hub.workspace.admin import inbox, messages, reports, retention, staff, timeline

__all__ = ["inbox", "messages", "reports", "retention", "staff", "timeline"]
