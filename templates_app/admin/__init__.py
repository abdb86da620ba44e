"""Admin for marketers (write, preview, test, submit) and compliance (review, approve)."""

from templates_app.admin.templates import EmailLayoutAdmin, TemplateAdmin
from templates_app.admin.versions import ApprovalQueueAdmin, TemplateApprovalAdmin, TemplateVersionAdmin

__all__ = [
    "ApprovalQueueAdmin",
    "EmailLayoutAdmin",
    "TemplateAdmin",
    "TemplateApprovalAdmin",
    "TemplateVersionAdmin",
]
