"""GOV.UK Notify's official Python client, unchanged, against a live Switchboard: every
public method except the letter ones, each answer checked against Notify's published schemas.
The sends are ordinary Switchboard notifications: in our own models, sandbox outbox and audit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from audit.models import AuditRecord
from hub.contacts.models import InboundMessage
from hub.messaging.models import DailyRollup, Notification
from hub.providers.models import SandboxOutboxEntry
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import make_live_template
from tests.hub.api.livehub import live_hub
from tests.hub.notify.conftest import assert_matches_notify_schema

PHONE = "+447911123456"
EMAIL = "ada@example.com"


def templates() -> tuple[Any, Any]:
    sms = make_live_template(
        "notify.sms", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}, code {{ code }}."}]
    )
    email = make_live_template(
        "notify.email",
        variants=[
            {
                "channel": "email",
                "locale": "en",
                "subject": "Welcome {{ name }}",
                "html": "<p>Hello {{ name }}</p>",
                "text": "Hello {{ name }}",
            }
        ],
    )
    return sms, email


@pytest.mark.django_db(transaction=True)
def test_every_public_method_of_the_official_client(notify_key) -> None:
    sms_template, email_template = templates()
    for number, body in ((1, "Reply one"), (2, "Reply two")):
        InboundMessage.objects.create(channel="sms", from_address=f"+44791112345{number}", body=body)

    with live_hub(workers=4) as base_url:
        client = NotificationsAPIClient(notify_key.raw, base_url=base_url)

        sms = client.send_sms_notification(
            phone_number=PHONE,
            template_id=str(sms_template.uuid),
            personalisation={"Name": "Ada", "code": "123"},
            reference="order-1",
        )
        assert_matches_notify_schema(sms, "post_sms_response")
        assert sms["content"]["body"] == "Hi Ada, code 123."
        assert sms["reference"] == "order-1"
        assert sms["template"] == {
            "id": str(sms_template.uuid),
            "version": 1,
            "uri": f"{base_url}/v2/template/{sms_template.uuid}/version/1",
        }

        email = client.send_email_notification(
            email_address=EMAIL,
            template_id=str(email_template.uuid),
            personalisation={"name": "Ada"},
            reference="welcome-1",
            one_click_unsubscribe_url="https://example.com/unsubscribe?u=1",
        )
        assert_matches_notify_schema(email, "post_email_response")
        assert email["content"]["subject"] == "Welcome Ada"
        assert email["content"]["body"] == "Hello Ada"

        got = client.get_notification_by_id(sms["id"])
        assert_matches_notify_schema(got, "get_notification_response")
        assert got["status"] == "delivered"  # the sandbox delivers at once
        assert got["phone_number"] == PHONE
        assert got["reference"] == "order-1"
        assert got["body"] == "Hi Ada, code 123."
        assert got["sent_at"] and got["completed_at"]

        listed = client.get_all_notifications()
        assert_matches_notify_schema(listed, "get_notifications_response")
        assert [n["id"] for n in listed["notifications"]] == [email["id"], sms["id"]]
        filtered = client.get_all_notifications(
            status="delivered", template_type="email", reference="welcome-1"
        )
        assert [n["id"] for n in filtered["notifications"]] == [email["id"]]
        assert client.get_all_notifications(status="failed")["notifications"] == []
        older = client.get_all_notifications(older_than=email["id"])
        assert [n["id"] for n in older["notifications"]] == [sms["id"]]
        assert [n["id"] for n in client.get_all_notifications_iterator()] == [email["id"], sms["id"]]

        texts = client.get_received_texts()
        assert_matches_notify_schema(texts, "get_inbound_sms_response")
        assert [t["content"] for t in texts["received_text_messages"]] == ["Reply two", "Reply one"]
        assert texts["received_text_messages"][0]["service_id"] == notify_key.raw[-73:-37]
        assert [t["content"] for t in client.get_received_texts_iterator()] == ["Reply two", "Reply one"]

        template = client.get_template(str(sms_template.uuid))
        assert_matches_notify_schema(template, "get_template_by_id_response")
        assert (template["type"], template["version"]) == ("sms", 1)
        assert template["body"] == "Hi {{ name }}, code {{ code }}."
        version = client.get_template_version(str(email_template.uuid), 1)
        assert_matches_notify_schema(version, "get_template_by_id_response")
        assert (version["type"], version["subject"]) == ("email", "Welcome {{ name }}")

        every = client.get_all_templates()
        assert_matches_notify_schema(every, "get_all_template_response")
        assert {t["id"] for t in every["templates"]} == {str(sms_template.uuid), str(email_template.uuid)}
        only_email = client.get_all_templates(template_type="email")
        assert [t["id"] for t in only_email["templates"]] == [str(email_template.uuid)]

        versions = client.get_all_template_versions(str(sms_template.uuid))
        assert [v["version"] for v in versions["data"]] == [1]
        assert_matches_notify_schema(versions["data"][0], "get_template_by_id_response")

        preview = client.post_template_preview(str(email_template.uuid), personalisation={"NAME": "Grace"})
        assert_matches_notify_schema(preview, "post_template_preview_response")
        assert (preview["subject"], preview["body"]) == ("Welcome Grace", "Hello Grace")
        assert "Hello Grace" in preview["html"]

        with pytest.raises(HTTPError) as refused:
            client.send_sms_notification(phone_number=PHONE, template_id=str(sms_template.uuid))
        assert refused.value.status_code == 400
        assert refused.value.message == [
            {"error": "BadRequestError", "message": "Missing personalisation: code, name"}
        ]
        with pytest.raises(HTTPError) as letter:
            client.send_letter_notification(str(sms_template.uuid), {"address_line_1": "A"})
        assert letter.value.status_code == 400
        assert isinstance(letter.value.message, list)
        assert letter.value.message[0]["error"] == "BadRequestError"

    # The same sends, as Switchboard sees them: notifications of the key, sent through the
    # sandbox, recorded in the audit log.
    notifications = Notification.objects.filter(api_key=notify_key.notify_key.api_key)
    assert {str(n.id) for n in notifications} == {sms["id"], email["id"]}
    assert SandboxOutboxEntry.objects.get(to=PHONE).content["text"] == "Hi Ada, code 123."
    assert audit_log_sequenced_and_verified().ok
    for sent in (sms, email):
        assert AuditRecord.objects.filter(action="notification.accepted", object_id=sent["id"]).exists()
    # ...and in the reports, which read the rollups the lifecycle keeps.
    reported = DailyRollup.objects.filter(template=sms_template, channel="sms").values_list("sent", flat=True)
    assert sum(reported) == 1


@pytest.mark.django_db(transaction=True)
def test_a_notification_of_another_service_is_not_found(notify_key, notify_key_factory) -> None:
    sms_template, _ = templates()
    other = notify_key_factory(name="other service")
    with live_hub(workers=2) as base_url:
        sent = NotificationsAPIClient(notify_key.raw, base_url=base_url).send_sms_notification(
            PHONE, str(sms_template.uuid), personalisation={"name": "A", "code": "1"}
        )
        with pytest.raises(HTTPError) as missing:
            NotificationsAPIClient(other.raw, base_url=base_url).get_notification_by_id(sent["id"])
    assert missing.value.status_code == 404
    assert missing.value.message == [{"error": "NoResultFound", "message": "No result found"}]
    assert uuid.UUID(sent["id"])
