"""Roles: the four groups are created by a migration, and each sees and edits only what its
job needs. Every admin page is tried by every role in tests/hub/security/test_admin_matrix.py."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from hub.roles import ROLE_PERMISSIONS

ROLES = ("Marketer", "Compliance", "Support", "Operator")

# Who sees each page in the admin index (the full matrix: tests/hub/security/test_admin_matrix.py).
PAGES: dict[str, set[str]] = {
    "audit.auditrecord": {"Compliance"},
    "audit.auditcheckpoint": {"Compliance", "Operator"},
    "workspace.workspacemessage": {"Compliance"},
    "workspace.contacttimeline": {"Support"},
    "workspace.report": {"Marketer", "Compliance", "Operator"},
    "workspace.retentionpolicy": {"Compliance", "Operator"},
    "templates_app.template": {"Marketer", "Compliance"},
    "apikeys.apikey": {"Operator"},
    "messaging.message": {"Compliance", "Support", "Operator"},
    "messaging.notification": {"Compliance", "Support", "Operator"},
    "contacts.contact": {"Compliance", "Support"},
    "providers.sandboxoutboxentry": {"Marketer", "Operator"},
    "auth.user": set(),
    "auth.group": set(),
}


def test_groups_are_created_by_the_migration(db):
    Group.objects.filter(name__in=ROLES).delete()
    migration = importlib.import_module("hub.workspace.migrations.0002_roles")
    migration.create_roles(apps, SimpleNamespace(connection=connection))
    groups = {g.name: g for g in Group.objects.filter(name__in=ROLES)}
    assert set(groups) == set(ROLES)
    assert groups["Compliance"].permissions.filter(codename="export_evidence").exists()
    assert not groups["Support"].permissions.filter(codename="view_auditrecord").exists()


def test_every_role_permission_exists(db):
    """A typo in ROLE_PERMISSIONS would silently grant nothing."""
    for role in ROLES:
        assert Group.objects.get(name=role).permissions.count() == len(ROLE_PERMISSIONS[role]), role


@pytest.mark.parametrize("role", ROLES)
def test_admin_index_lists_only_the_roles_pages(client, staff_factory, role):
    client.force_login(staff_factory(role))
    shown = {
        f"{app['app_label']}.{m['object_name'].lower()}"
        for app in client.get(reverse("admin:index")).context["app_list"]
        for m in app["models"]
    }
    expected = {p for p in PAGES if role in PAGES[p]}
    assert expected <= shown
    assert not ({p for p in PAGES if role not in PAGES[p]} & shown)


@pytest.mark.parametrize(("role", "status"), [("Compliance", 302), ("Operator", 403), ("Support", 403)])
def test_only_compliance_sets_retention(client, staff_factory, role, status):
    client.force_login(staff_factory(role))
    response = client.post(reverse("admin:workspace_retentionpolicy_add"), {"channel": "sms", "days": "30"})
    assert response.status_code == status


@pytest.mark.parametrize("role", ["Compliance", "Support", "Marketer"])
def test_only_operators_revoke_api_keys(client, staff_factory, issued_key, role):
    client.force_login(staff_factory(role))
    url = reverse("admin:apikeys_apikey_changelist")
    response = client.post(url, {"action": "revoke_keys", "_selected_action": [issued_key.api_key.pk]})
    assert response.status_code == 403
    issued_key.api_key.refresh_from_db()
    assert issued_key.api_key.revoked_at is None


def test_admin_checks_pass():
    call_command("check")
