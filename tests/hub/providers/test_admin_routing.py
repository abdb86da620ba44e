"""Operators see every provider's health, error rate and current position, and configure
routing in admin; the Operator role may do so."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from hub.providers import health
from hub.providers.models import ProviderConfig

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    user = get_user_model().objects.create_user("op", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Operator"))
    client.login(username="op", password="pw")
    return client


def test_routing_page_shows_health_error_rate_and_position(operator_client, settings):
    sandbox = "hub.providers.sandbox.SandboxProvider"
    settings.HUB_PROVIDERS = {
        **settings.HUB_PROVIDERS,
        "sms": [
            {"NAME": "sms-a", "BACKEND": sandbox, "OPTIONS": {"channel": "sms"}},
            {"NAME": "sms-b", "BACKEND": sandbox, "OPTIONS": {"channel": "sms"}},
        ],
    }
    ProviderConfig.objects.create(name="sms-a", channel="sms", backend=sandbox, priority=1)
    ProviderConfig.objects.create(name="sms-b", channel="sms", backend=sandbox, priority=2)
    for _ in range(4):
        health.provider_health_record(provider="sms-a", ok=False, latency_ms=20, error="500: boom")
    health.provider_health_record(provider="sms-a", ok=True, latency_ms=20)
    response = operator_client.get("/admin/providers/providerconfig/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Routing now" in page
    assert "demoted: error rate 80% over 5 calls" in page
    assert "80% of 5" in page
    rows = {row.name: row for row in response.context["routing_overview"]["sms"]}
    assert (rows["sms-b"].position, rows["sms-a"].position) == (1, 2), "the demoted provider goes last"


def test_operator_may_change_priority_and_restore(operator_client):
    row = ProviderConfig.objects.create(
        name="sms-a", channel="sms", backend="hub.providers.sandbox.SandboxProvider", priority=5
    )
    health.provider_demote(provider="sms-a", reason="test")
    response = operator_client.post(
        "/admin/providers/providerconfig/",
        {"action": "restore", "_selected_action": [row.pk], "index": 0},
    )
    assert response.status_code == 302
    assert not health.provider_health("sms-a").demoted


def test_operator_edits_the_help_reply(operator_client):
    response = operator_client.post(
        "/admin/providers/smskeywordreplies/add/",
        {
            "help_reply": "Acme: help at acme.example. Reply STOP to opt out.",
            "opt_out_reply": "",
            "opt_in_reply": "",
        },
    )
    assert response.status_code == 302
