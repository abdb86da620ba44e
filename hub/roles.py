"""The staff roles and what each may do in admin.

The groups are created by a migration (``hub/workspace/migrations/0002_roles.py``) and kept in
step with this table after every migrate (a post_migrate receiver), so a permission added
here reaches existing installs on their next migrate.
"""

from __future__ import annotations

from typing import Any

# Each role's permissions as "app_label.codename". A role sees only what its job needs.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "Marketer": (
        "templates_app.view_template",
        "templates_app.add_template",
        "templates_app.change_template",
        "templates_app.view_templateversion",
        "templates_app.add_templateversion",
        "templates_app.change_templateversion",
        "templates_app.view_templatevariant",
        "templates_app.add_templatevariant",
        "templates_app.change_templatevariant",
        "templates_app.delete_templatevariant",
        "templates_app.view_templatevariable",
        "templates_app.add_templatevariable",
        "templates_app.change_templatevariable",
        "templates_app.delete_templatevariable",
        "templates_app.view_emaillayout",
        "templates_app.add_emaillayout",
        "templates_app.change_emaillayout",
        "templates_app.view_templateapproval",
        "templates_app.submit_templateversion",
        "templates_app.test_send_templateversion",
        "templates_app.export_template",
        "templates_app.import_template",
        "providers.view_sandboxoutboxentry",
        # "See how a template performs."
        "workspace.view_report",
        # Issue 7: broadcasts (CSV upload, start, pause, resume, cancel) and fallback timings.
        "broadcasts.view_broadcast",
        "broadcasts.add_broadcast",
        "broadcasts.change_broadcast",
        # Issue 20: contacts from a CSV (consent only with its evidence), for segments.
        "contacts.add_contactimport",
        "messaging.view_fallbackpolicy",
        "messaging.add_fallbackpolicy",
        "messaging.change_fallbackpolicy",
        "messaging.delete_fallbackpolicy",
        # Issue 17: journeys (authored as code or in admin, submitted for review).
        "journeys.view_journey",
        "journeys.view_journeyversion",
        "journeys.submit_journeyversion",
        "journeys.view_journeyrun",
        "journeys.cancel_journeyrun",
        # Issue 18: what a send costs (the price table), read-only.
        "tracking.view_price",
    ),
    "Compliance": (
        "templates_app.view_template",
        "templates_app.view_templateversion",
        "templates_app.view_templatevariant",
        "templates_app.view_templatevariable",
        "templates_app.view_emaillayout",
        "templates_app.view_templateapproval",
        "templates_app.view_approvalqueueentry",
        "templates_app.approve_templateversion",
        "templates_app.export_template",
        "audit.view_auditrecord",
        "audit.view_auditcheckpoint",
        "messaging.view_notification",
        "messaging.view_message",
        "messaging.view_messageevent",
        "contacts.view_contact",
        "contacts.view_consententry",
        "contacts.view_suppression",
        "contacts.add_suppression",
        "contacts.lift_suppression",
        "contacts.erase_contact",
        # Issue 20: addresses in full on the contact's page (Support reads them masked).
        "contacts.view_contact_addresses",
        "contacts.view_inboundmessage",
        "compliance.view_rule",
        "compliance.add_rule",
        "compliance.change_rule",
        "compliance.preview_rule",
        "compliance.view_ruleversion",
        "workspace.view_workspacemessage",
        "workspace.export_evidence",
        "workspace.view_report",
        "workspace.view_retentionpolicy",
        "workspace.add_retentionpolicy",
        "workspace.change_retentionpolicy",
        "journeys.view_journey",
        "journeys.view_journeyversion",
        "journeys.approve_journeyversion",
        "journeys.view_journeyrun",
        "journeys.view_event",
    ),
    "Support": (
        "contacts.view_contact",
        "contacts.view_consententry",
        "messaging.view_notification",
        "messaging.view_message",
        "messaging.view_messageevent",
        "workspace.view_contacttimeline",
        "journeys.view_journeyrun",
        "journeys.cancel_journeyrun",  # a customer asks to stop
        # Issue 18: the inbox of inbound messages, replies, linking unknown senders, the
        # sandbox simulator.
        "contacts.view_inboundmessage",
        "contacts.reply_inboundmessage",
        "contacts.link_inboundmessage",
        "contacts.simulate_inboundmessage",
        # Not contacts.view_contact_addresses (issue 20): support reads a contact's addresses
        # masked (a•••@example.com, +44•••••••456), enough to confirm them with the caller; a
        # full address typed into the search box still finds its contact.
    ),
    "Operator": (
        "apikeys.view_apikey",
        "apikeys.add_apikey",  # created in admin, its secret shown once
        "apikeys.change_apikey",
        # Notify-format keys for /v2/ (created in admin, shown once); revoked on their API key.
        "notify.view_notifykey",
        "notify.add_notifykey",
        "notify.view_smssender",
        "notify.add_smssender",
        "notify.change_smssender",
        "notify.view_emailreplyto",
        "notify.add_emailreplyto",
        "notify.change_emailreplyto",
        "providers.view_sandboxoutboxentry",
        "messaging.view_message",
        "messaging.view_notification",
        "providers.view_providerconfig",
        "providers.add_providerconfig",
        "providers.change_providerconfig",
        "providers.view_smskeywordreplies",
        "providers.add_smskeywordreplies",
        "providers.change_smskeywordreplies",
        "audit.view_auditcheckpoint",
        "workspace.view_report",
        "workspace.view_retentionpolicy",
        # Issue 7: callback endpoints (resume, rotate) and their delivery log; broadcasts.
        "callbacks.view_callbackendpoint",
        "callbacks.change_callbackendpoint",
        "callbacks.view_callbackdelivery",
        "broadcasts.view_broadcast",
        "broadcasts.change_broadcast",
        # Issue 18: the price table behind every cost figure.
        "tracking.view_price",
        "tracking.add_price",
        "tracking.change_price",
        "tracking.delete_price",
    ),
}


def roles_apply(group_model: Any, permission_model: Any) -> None:
    """Create the role groups and give each exactly its permissions (models passed in, so a
    migration can use its historical ones)."""
    named = {tuple(dotted.split(".")) for perms in ROLE_PERMISSIONS.values() for dotted in perms}
    # One read for every permission named (not one a name: this runs after each test's flush).
    found = {
        (perm.content_type.app_label, perm.codename): perm
        for perm in permission_model.objects.filter(
            codename__in={codename for _, codename in named}
        ).select_related("content_type")
    }
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = [found[key] for dotted in perms if (key := tuple(dotted.split("."))) in found]
        group.permissions.set(wanted)


def roles_ensure(**kwargs: Any) -> None:
    """post_migrate receiver: keep the groups in step with ROLE_PERMISSIONS."""
    from django.contrib.auth.models import Group, Permission

    roles_apply(Group, Permission)
