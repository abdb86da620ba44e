"""Admin pages of the workspace (each module registers its own)."""

from hub.workspace.admin import messages, reports, retention, staff, timeline

__all__ = ["messages", "reports", "retention", "staff", "timeline"]
