"""The Marketer and Compliance groups, kept in step by every migrate."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connection
from django.test.utils import CaptureQueriesContext

from hub.roles import ROLE_PERMISSIONS, roles_ensure


def perms(role):
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.all()
    }


@pytest.mark.django_db
def test_marketer_writes_and_submits_but_cannot_approve():
    roles_ensure()
    marketer = perms("Marketer")
    assert {
        "templates_app.change_templateversion",
        "templates_app.submit_templateversion",
        "templates_app.test_send_templateversion",
        "templates_app.add_templatevariable",
        "templates_app.import_template",
    } <= marketer
    assert "templates_app.approve_templateversion" not in marketer


@pytest.mark.django_db
def test_compliance_reviews_but_cannot_edit_content():
    roles_ensure()
    compliance = perms("Compliance")
    assert {"templates_app.approve_templateversion", "templates_app.view_approvalqueueentry"} <= compliance
    assert not {
        p for p in compliance if p.startswith("templates_app.change_") or p.startswith("templates_app.add_t")
    }


@pytest.mark.django_db
def test_post_migrate_keeps_every_role_in_step_once_in_a_few_reads():
    """After every migrate, and the flush after each transactional test, the groups are brought
    in step once all apps' permissions exist, reading the permissions once: it was once for
    every app, a read for each permission each time (2,352 queries a flush)."""
    Group.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        emit_post_migrate_signal(verbosity=0, interactive=False, db=DEFAULT_DB_ALIAS)
    assert {role: perms(role) for role in ROLE_PERMISSIONS} == {
        role: set(wanted) for role, wanted in ROLE_PERMISSIONS.items()
    }
    assert len(queries) < 200, len(queries)
