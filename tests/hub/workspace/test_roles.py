"""Roles: the four groups are created by a migration, and each sees and edits only what its
job needs. Every admin page is tried by every role."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from hub.roles import ROLE_PERMISSIONS

ROLES = ("Marketer", "Compliance", "Support", "Operator")

# Who may open each page. Pages not listed here (added later by other apps) are checked
# against ROLE_PERMISSIONS instead, so every registered page is still tried by every role.
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


def _granted(model_label: str) -> set[str]:
    app_label, model = model_label.split(".")
    return {
        role
        for role, perms in ROLE_PERMISSIONS.items()
        if {f"{app_label}.view_{model}", f"{app_label}.change_{model}"} & set(perms)
    }


def _pages() -> list[tuple[str, str]]:
    labels = sorted(f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry)
    return [(label, role) for label in labels for role in ROLES]


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


@pytest.mark.parametrize(("page", "role"), _pages())
def test_each_role_sees_only_its_pages(client, staff_factory, page, role):
    client.force_login(staff_factory(role))
    app_label, model = page.split(".")
    response = client.get(reverse(f"admin:{app_label}_{model}_changelist"))
    allowed = PAGES[page] if page in PAGES else _granted(page)
    assert (response.status_code == 200) == (role in allowed), (page, role, response.status_code)
    assert response.status_code in {200, 302, 403}


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


def _addable_pages() -> list[tuple[str, str]]:
    """Pages where admin lets a superuser add (asked of the ModelAdmin, no database needed)."""
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    addable = {
        f"{m._meta.app_label}.{m._meta.model_name}"
        for m, model_admin in admin.site._registry.items()
        if model_admin.has_add_permission(request)
    }
    return [(page, role) for page, role in _pages() if page in addable]


@pytest.mark.parametrize(("page", "role"), _addable_pages())
def test_each_role_adds_only_what_its_permissions_allow(client, staff_factory, page, role):
    """Where admin lets anyone add, a role may add iff it holds add_<model>."""
    app_label, model = page.split(".")
    client.force_login(staff_factory(role))
    response = client.get(reverse(f"admin:{app_label}_{model}_add"))
    assert (response.status_code == 200) == (f"{app_label}.add_{model}" in ROLE_PERMISSIONS[role])
