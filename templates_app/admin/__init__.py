"""Admin for marketers (write, preview, test, submit) and compliance (review, approve)."""

from templates_app.admin.addresses import StaffAddressAdmin
from templates_app.admin.queue import ApprovalQueueAdmin, TemplateApprovalAdmin
from templates_app.admin.templates import EmailLayoutAdmin, TemplateAdmin
from templates_app.admin.versions import TemplateVersionAdmin

__all__ = [
    "ApprovalQueueAdmin",
    "EmailLayoutAdmin",
    "StaffAddressAdmin",
    "TemplateAdmin",
    "TemplateApprovalAdmin",
    "TemplateVersionAdmin",
]
