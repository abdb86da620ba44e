"""An operator creates an API key in admin (issue 20 point 5): what it may do is ticked from
lists, its secret is shown once on the page that answers the form (not in a redirect, a cookie
or a cache), and the key works at once. Bad choices are form errors that create nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from hub.apikeys.models import ApiKey
from tests.factories import make_staff_user

pytestmark = pytest.mark.django_db

ADD = "admin:apikeys_apikey_add"


def _data(**overrides):
    data = {
        "name": "cards-service",
        "capabilities": ["send", "read"],
        "send_categories": ["transactional"],
        "rate_limit_per_minute": "600",
        "rate_limit_burst": "20",
        "daily_quota": "",
    }
    data.update(overrides)
    return data


def test_operator_creates_a_key_and_sees_its_secret_once(client, api_client):
    client.force_login(make_staff_user("Operator"))
    response = client.post(reverse(ADD), _data())
    assert response.status_code == 200, response.content
    page = response.content.decode()
    raw = re.search(r"sb_[0-9a-f]{12}_[A-Za-z0-9_-]+", page)
    assert raw is not None, page
    assert "no-store" in response["Cache-Control"] and "not be shown again" in page
    assert all(raw.group(0) not in morsel.value for morsel in response.cookies.values())

    key = ApiKey.objects.get()
    assert key.scopes == ["send", "read", "category:transactional"]
    assert (key.rate_limit_per_minute, key.rate_limit_burst, key.daily_quota) == (600, 20, None)
    record = AuditRecord.objects.get(action="apikey.created")
    assert record.actor_type == "user" and raw.group(0) not in str(record.payload)
    # It works at once, for what it was given.
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw.group(0)}"}
    assert api_client.get("/api/v1/templates", **auth).status_code == 200
    assert api_client.get("/api/v1/contacts/nobody", **auth).status_code == 403
    # Never shown again.
    change = client.get(reverse("admin:apikeys_apikey_change", args=[key.pk])).content.decode()
    assert raw.group(0) not in change and key.key_hash not in change


def test_the_edit_form_shows_the_scopes_as_ticked_choices(client):
    from hub.apikeys.services import apikey_create

    key = apikey_create(name="shop", scopes=["template:order.shipped"]).api_key
    client.force_login(make_staff_user("Operator"))
    form = client.get(reverse("admin:apikeys_apikey_change", args=[key.pk])).context["adminform"].form
    assert form.initial["capabilities"] == ["send"]  # limits alone make a sending key
    assert form.initial["send_templates"] == ["order.shipped"]
    everything = apikey_create(name="all").api_key
    form = client.get(reverse("admin:apikeys_apikey_change", args=[everything.pk])).context["adminform"].form
    assert len(form.initial["capabilities"]) == 6  # no scopes: may do everything, shown as such


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"capabilities": []}, "capabilities", "required"),
        ({"capabilities": ["send", "admin"]}, "capabilities", "valid choice"),
        ({"capabilities": ["read"]}, "send_categories", "capability ticked"),
        ({"send_templates": ["no.such.template"]}, "send_templates", "valid choice"),
        ({"rate_limit_per_minute": "0"}, "rate_limit_per_minute", "at least 1"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_bad_choices_are_form_errors_and_create_nothing(client, overrides, field, message):
    client.force_login(make_staff_user("Operator"))
    response = client.post(reverse(ADD), _data(**overrides))
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    assert not ApiKey.objects.exists() and not AuditRecord.objects.filter(action="apikey.created").exists()


@pytest.mark.parametrize("role", ["Marketer", "Compliance", "Support"])
def test_other_roles_may_not_create_keys(client, role):
    client.force_login(make_staff_user(role))
    assert client.post(reverse(ADD), _data()).status_code == 403
    assert not ApiKey.objects.exists()
