"""Operators' changes to provider routing, provider restores and the SMS keyword replies are
validated and audited with before and after values, through the real admin views."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from hub.providers import health
from hub.providers.models import ProviderConfig, SmsKeywordReplies
from tests.factories import make_staff_user

pytestmark = pytest.mark.django_db
SANDBOX = "hub.providers.sandbox.SandboxProvider"


@pytest.fixture
def operator(client):
    client.force_login(make_staff_user("Operator"))
    return client


def _provider_post(**overrides):
    data = {
        "name": "sms-a",
        "channel": "sms",
        "backend": SANDBOX,
        "priority": "5",
        "enabled": "on",
        "options": json.dumps({"timeout": 5}),
    }
    data.update(overrides)
    return data


def _records(action):
    return list(AuditRecord.objects.filter(action=action))


def test_adding_and_changing_a_provider_is_audited_with_before_and_after(operator):
    response = operator.post(reverse("admin:providers_providerconfig_add"), _provider_post())
    assert response.status_code == 302, response.content
    row = ProviderConfig.objects.get()
    (created,) = _records("provider.created")
    assert created.payload["name"] == "sms-a" and created.payload["after"]["priority"] == 5
    response = operator.post(
        reverse("admin:providers_providerconfig_change", args=[row.pk]),
        _provider_post(priority="1", options=json.dumps({"timeout": 3})),
    )
    assert response.status_code == 302, response.content
    (changed,) = _records("provider.changed")
    assert changed.payload["before"] == {"priority": 5, "options": {"timeout": 5}}
    assert changed.payload["after"] == {"priority": 1, "options": {"timeout": 3}}


def test_the_changelist_quick_edit_is_audited_too(operator):
    row = ProviderConfig.objects.create(name="sms-a", channel="sms", backend=SANDBOX, priority=5)
    response = operator.post(
        reverse("admin:providers_providerconfig_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(row.pk),
            "form-0-priority": "2",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content
    (changed,) = _records("provider.changed")
    assert changed.payload["before"] == {"priority": 5, "enabled": True}
    assert changed.payload["after"] == {"priority": 2, "enabled": False}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"options": json.dumps({"auth_token": "x"})}, "options", "Secrets belong in the environment"),
        ({"options": json.dumps({"timeout": -1})}, "options", "positive number"),
        ({"options": json.dumps({"rate_per_second": "fast"})}, "options", "positive number"),
        ({"backend": "hub.providers.sendgrid.SendGridEmailProvider"}, "backend", "carries email"),
    ],
)
def test_bad_provider_settings_are_a_form_error_and_change_nothing(operator, overrides, field, message):
    row = ProviderConfig.objects.create(
        name="sms-a", channel="sms", backend=SANDBOX, priority=5, options={"timeout": 5}
    )
    response = operator.post(
        reverse("admin:providers_providerconfig_change", args=[row.pk]), _provider_post(**overrides)
    )
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    row.refresh_from_db()
    assert row.options == {"timeout": 5}
    assert not AuditRecord.objects.filter(object_type="provider").exists()


def test_restoring_a_provider_is_audited_with_its_health_before(operator):
    row = ProviderConfig.objects.create(name="sms-a", channel="sms", backend=SANDBOX, priority=5)
    health.provider_demote(provider="sms-a", reason="error rate 80% over 5 calls")
    response = operator.post(
        reverse("admin:providers_providerconfig_changelist"),
        {"action": "restore", "_selected_action": [row.pk], "index": 0},
    )
    assert response.status_code == 302
    assert not health.provider_health("sms-a").demoted
    (record,) = _records("provider.restored")
    assert record.payload["name"] == "sms-a"
    assert record.payload["before"]["demoted"] is True
    assert record.payload["before"]["demoted_reason"] == "error rate 80% over 5 calls"
    assert record.payload["after"] == {"demoted": False}


def test_keyword_replies_changes_are_audited_with_before_and_after(operator):
    old = SmsKeywordReplies.objects.create()
    data = {
        "help_reply": "Acme alerts. Reply STOP to stop.",
        "opt_out_reply": "",
        "opt_in_reply": "Welcome back",
    }
    response = operator.post(reverse("admin:providers_smskeywordreplies_change", args=[old.pk]), data)
    assert response.status_code == 302, response.content
    (record,) = _records("sms_keyword_replies.changed")
    assert record.payload["after"] == {
        "help_reply": "Acme alerts. Reply STOP to stop.",
        "opt_in_reply": "Welcome back",
    }
    assert record.payload["before"] == {"help_reply": old.help_reply, "opt_in_reply": ""}


def test_a_help_reply_that_does_not_say_how_to_opt_out_is_refused(operator):
    old = SmsKeywordReplies.objects.create()
    data = {"help_reply": "Acme alerts.", "opt_out_reply": "", "opt_in_reply": ""}
    response = operator.post(reverse("admin:providers_smskeywordreplies_change", args=[old.pk]), data)
    assert response.status_code == 200
    assert "STOP" in str(response.context["adminform"].form.errors["help_reply"])
    old.refresh_from_db()
    assert old.help_reply != "Acme alerts."
    assert not AuditRecord.objects.filter(object_type="sms_keyword_replies").exists()
