"""An operator's edit of an API key in admin (scopes, limits, quota) is validated and audited
with before and after values; bad input is a form error that changes and audits nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_create
from templates_app.models import Template
from tests.factories import make_staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    client.force_login(make_staff_user("Operator"))
    return client


@pytest.fixture
def key():
    Template.objects.create(key="order.shipped", name="Order shipped", category="transactional")
    return apikey_create(name="shop", scopes=["send", "read"]).api_key


def _post(client, key, **overrides):
    data = {
        "name": key.name,
        "capabilities": ["send", "read"],
        "rate_limit_per_minute": str(key.rate_limit_per_minute),
        "rate_limit_burst": str(key.rate_limit_burst),
        "daily_quota": "",
    }
    data.update(overrides)
    return client.post(reverse("admin:apikeys_apikey_change", args=[key.pk]), data)


def test_an_edit_is_audited_with_before_and_after(operator, key):
    response = _post(
        operator, key, capabilities=["send"], send_templates=["order.shipped"], daily_quota="500"
    )
    assert response.status_code == 302, response.content
    key.refresh_from_db()
    assert key.scopes == ["send", "template:order.shipped"] and key.daily_quota == 500
    (record,) = AuditRecord.objects.filter(action="apikey.changed")
    assert record.object_id == str(key.pk) and record.actor_type == "user"
    assert record.payload["before"] == {"scopes": ["send", "read"], "daily_quota": None}
    assert record.payload["after"] == {"scopes": ["send", "template:order.shipped"], "daily_quota": 500}
    assert key.key_hash not in str(record.payload)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capabilities", ["send", "admin"], "valid choice"),
        ("capabilities", [], "required"),
        ("rate_limit_per_minute", "0", "at least 1"),
        ("rate_limit_burst", "0", "at least 1"),
        ("daily_quota", "0", "at least 1"),
    ],
)
def test_bad_input_is_a_form_error_and_changes_nothing(operator, key, field, value, message):
    before = ApiKey.objects.values().get(pk=key.pk)
    response = _post(operator, key, **{field: value})
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    assert ApiKey.objects.values().get(pk=key.pk) == before
    assert not AuditRecord.objects.filter(action="apikey.changed").exists()


def test_saving_without_changes_writes_no_record(operator, key):
    assert _post(operator, key).status_code == 302
    assert not AuditRecord.objects.filter(action="apikey.changed").exists()
