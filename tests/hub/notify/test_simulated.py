"""Notify's simulated recipients are accepted like any send and never reach a provider."""

from __future__ import annotations

import pytest

from bench.fakes.twilio import sent_messages
from hub.messaging.models import Message, Notification
from hub.notify.models import KeyType, NotifyKey
from hub.providers.models import SandboxOutboxEntry
from tests.factories import make_live_template
from tests.hub.notify.conftest import NotifyTestClient

SMS = "/v2/notifications/sms"


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["07700900000", "+447700900111", "07700 900 222"])
def test_simulated_numbers_never_reach_the_provider(
    notify_client, notify_key, twilio_sms, django_capture_on_commit_callbacks, number
) -> None:
    template = make_live_template(
        "sim", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}]
    )
    body = {"phone_number": number, "template_id": str(template.uuid), "personalisation": {"name": "Ada"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = notify_client.post(SMS, body)
    assert response.status_code == 201, response.content
    assert sent_messages(twilio_sms) == []
    message = Message.objects.get()
    assert message.status == "delivered"
    assert SandboxOutboxEntry.objects.filter(message_id=str(message.id)).exists()
    # Still the caller's notification as /v2/ shows it.
    listed = notify_client.get("/v2/notifications").json()["notifications"]
    assert [n["id"] for n in listed] == [response.json()["id"]]
    companion = NotifyKey.objects.get().simulation_key
    assert companion is not None and companion.is_test


@pytest.mark.django_db
def test_other_numbers_do_reach_the_provider(
    notify_client, twilio_sms, django_capture_on_commit_callbacks
) -> None:
    template = make_live_template(
        "sim", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}]
    )
    body = {
        "phone_number": "+447911123456",
        "template_id": str(template.uuid),
        "personalisation": {"name": "A"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_client.post(SMS, body).status_code == 201
    assert len(sent_messages(twilio_sms)) == 1


@pytest.mark.django_db
def test_simulated_send_keeps_the_callers_limits(api_client, notify_key_factory) -> None:
    template = make_live_template(
        "sim", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}]
    )
    limited = NotifyTestClient(api_client, notify_key_factory(name="ltd", scopes=["template:other"]).raw)
    body = {
        "phone_number": "07700900000",
        "template_id": str(template.uuid),
        "personalisation": {"name": "A"},
    }
    response = limited.post(SMS, body)
    assert response.status_code == 403, response.content
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_team_keys_may_use_simulated_recipients(api_client, notify_key_factory) -> None:
    template = make_live_template(
        "sim", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}]
    )
    team = NotifyTestClient(api_client, notify_key_factory(name="team", key_type=KeyType.TEAM).raw)
    body = {
        "phone_number": "07700900000",
        "template_id": str(template.uuid),
        "personalisation": {"name": "A"},
    }
    assert team.post(SMS, body).status_code == 201
