"""Template services (writes). Import from here; the submodules are an implementation detail."""

from templates_app.services.layouts import email_layout_save
from templates_app.services.review import template_version_approve, template_version_reject, version_makers
from templates_app.services.staff_addresses import (
    StaffAddressError,
    staff_address_add,
    staff_address_remove,
    staff_address_verify,
)
from templates_app.services.testsend import (
    TestOutcome,
    TestSendFailed,
    template_version_test_outcomes,
    template_version_test_send,
    test_send_summary,
)
from templates_app.services.transfer import ImportFailed, ImportReport, templates_export, templates_import
from templates_app.services.workflow import (
    TemplateLintFailed,
    TemplateWorkflowError,
    template_create,
    template_draft_create,
    template_draft_edited,
    template_draft_from,
    template_update,
    template_version_submit,
)

__all__ = [
    "ImportFailed",
    "ImportReport",
    "StaffAddressError",
    "TemplateLintFailed",
    "TemplateWorkflowError",
    "TestOutcome",
    "TestSendFailed",
    "email_layout_save",
    "staff_address_add",
    "staff_address_remove",
    "staff_address_verify",
    "template_create",
    "template_draft_create",
    "template_draft_edited",
    "template_draft_from",
    "template_update",
    "template_version_approve",
    "template_version_reject",
    "template_version_submit",
    "template_version_test_outcomes",
    "template_version_test_send",
    "templates_export",
    "templates_import",
    "test_send_summary",
    "version_makers",
]
