"""The Marketer and Compliance groups, kept in step by every migrate."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from hub.roles import roles_ensure


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
