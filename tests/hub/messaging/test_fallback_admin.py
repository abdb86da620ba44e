"""Fallback policies steer which channel a message tries next: a marketer's change in admin is
validated and audited with before and after values."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from hub.messaging.models import FallbackPolicy
from tests.factories import make_live_template, make_staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client):
    client.force_login(make_staff_user("Marketer"))
    return client


def test_adding_changing_and_deleting_a_policy_is_audited(marketer):
    template = make_live_template("order.shipped")
    data = {"template": str(template.pk), "channel": "push", "wait_seconds": "600"}
    assert marketer.post(reverse("admin:messaging_fallbackpolicy_add"), data).status_code == 302
    policy = FallbackPolicy.objects.get()
    (created,) = AuditRecord.objects.filter(action="fallback_policy.created")
    assert created.payload["template"] == "order.shipped"
    assert created.payload["after"] == {"template": template.pk, "channel": "push", "wait_seconds": 600}
    url = reverse("admin:messaging_fallbackpolicy_change", args=[policy.pk])
    assert marketer.post(url, {**data, "wait_seconds": "120"}).status_code == 302
    (changed,) = AuditRecord.objects.filter(action="fallback_policy.changed")
    assert changed.payload["before"] == {"wait_seconds": 600} and changed.payload["after"] == {
        "wait_seconds": 120
    }
    delete = reverse("admin:messaging_fallbackpolicy_delete", args=[policy.pk])
    assert marketer.post(delete, {"post": "yes"}).status_code == 302
    (deleted,) = AuditRecord.objects.filter(action="fallback_policy.deleted")
    assert deleted.payload["before"]["wait_seconds"] == 120 and not FallbackPolicy.objects.exists()


@pytest.mark.parametrize("wait", ["0", str(8 * 24 * 3600)])
def test_a_nonsense_wait_is_a_form_error_and_changes_nothing(marketer, wait):
    template = make_live_template("order.shipped")
    data = {"template": str(template.pk), "channel": "push", "wait_seconds": wait}
    response = marketer.post(reverse("admin:messaging_fallbackpolicy_add"), data)
    assert response.status_code == 200
    assert "wait_seconds" in response.context["adminform"].form.errors
    assert not FallbackPolicy.objects.exists()
    assert not AuditRecord.objects.filter(object_type="fallback_policy").exists()
