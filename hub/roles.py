"""The staff roles and what each may do in admin. Kept in step with every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

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
        "providers.view_sandboxoutboxentry",
        # Issue 7: broadcasts (CSV upload, start, pause, resume, cancel) and fallback timings.
        "broadcasts.view_broadcast",
        "broadcasts.add_broadcast",
        "broadcasts.change_broadcast",
        "messaging.view_fallbackpolicy",
        "messaging.add_fallbackpolicy",
        "messaging.change_fallbackpolicy",
        "messaging.delete_fallbackpolicy",
    ),
    "Compliance": (
        "templates_app.view_template",
        "templates_app.view_templateversion",
        "templates_app.view_templatevariant",
        "templates_app.view_templateapproval",
        "templates_app.add_templateapproval",
        "audit.view_auditrecord",
        "messaging.view_notification",
        "messaging.view_message",
        "messaging.view_messageevent",
        "contacts.view_contact",
    ),
    "Support": (
        "contacts.view_contact",
        "messaging.view_notification",
        "messaging.view_message",
        "messaging.view_messageevent",
    ),
    "Operator": (
        "apikeys.view_apikey",
        "apikeys.change_apikey",
        "providers.view_sandboxoutboxentry",
        "messaging.view_message",
        "messaging.view_notification",
        # Issue 7: callback endpoints (resume, rotate) and their delivery log; broadcasts.
        "callbacks.view_callbackendpoint",
        "callbacks.change_callbackendpoint",
        "callbacks.view_callbackdelivery",
        "broadcasts.view_broadcast",
        "broadcasts.change_broadcast",
    ),
}


def roles_ensure(**kwargs: Any) -> None:
    """Create the role groups and give each exactly its permissions (post_migrate receiver)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)
