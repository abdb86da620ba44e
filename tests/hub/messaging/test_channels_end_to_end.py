"""Every channel end to end: accepted through the service the API uses, handed to the real
SDKs (twilio, sendgrid, google-auth + FCM HTTP v1, pywebpush) talking to the fake providers
over HTTP, and reported back through signed webhooks."""

from __future__ import annotations

import json
import time

import pytest

from bench.fakes.fcm import sent_pushes
from bench.fakes.sendgrid import sent_mails
from bench.fakes.signing import SendGridSigner, twilio_signature
from bench.fakes.twilio import AUTH_TOKEN, sent_messages
from hub.contacts.models import Contact
from hub.messaging.intake import NotificationRequest, notification_accept
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.providers.sendgrid import MESSAGE_ID_ARG
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import ALL_CHANNEL_VARIANTS, ORDER_DATA, make_device, make_live_template
from tests.fake_servers import fcm_entry, sendgrid_entry, twilio_entry, webpush_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_fake(settings, fake_twilio, fake_sendgrid, fake_fcm, fake_webpush, tmp_path):
    settings.HUB_BASE_URL = "https://hub.example.com"
    settings.HUB_PROVIDERS = {
        "sms": [twilio_entry(fake_twilio)],
        "email": [sendgrid_entry(fake_sendgrid)],
        "push": [fcm_entry(fake_fcm, str(fake_fcm.service_account_file(tmp_path))), webpush_entry()],
    }
    signer = SendGridSigner()
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = signer.public_key_b64
    return signer


def accept(contact, channels, django_capture_on_commit_callbacks):
    request = NotificationRequest(
        template="order.shipped",
        to={"external_id": contact.external_id},
        data=ORDER_DATA,
        channels=channels,
        routing="all",
    )
    with django_capture_on_commit_callbacks(execute=True):  # the enqueue runs the (eager) send task
        notification = notification_accept(request=request, api_key=None)
    return {m.channel: m for m in Message.objects.filter(notification=notification)}


def test_one_notification_per_channel_goes_out_and_comes_back_delivered(
    client, every_fake, fake_twilio, fake_sendgrid, fake_fcm, fake_webpush, django_capture_on_commit_callbacks
):
    make_live_template("order.shipped", variants=ALL_CHANNEL_VARIANTS)
    ada = Contact.objects.create(external_id="ada", email="ada@example.com", phone="+447911123456")
    make_device(ada, token="old-fcm-token")
    make_device(ada, token="ada-fcm-token")  # the newest active device is the one addressed
    bob = Contact.objects.create(external_id="bob")
    make_device(bob, kind="webpush", subscription=fake_webpush.subscription())

    messages = accept(ada, ["sms", "email", "push"], django_capture_on_commit_callbacks)
    (web,) = accept(bob, ["push"], django_capture_on_commit_callbacks).values()
    for message in [*messages.values(), web]:
        message.refresh_from_db()
        assert message.status == S.SENT, (message.channel, message.error_code, message.error_message)

    # What the fakes received, through the real SDKs.
    assert sent_messages(fake_twilio)[0]["Body"] == "Hi Ada, order A-1 is on its way."
    assert sent_mails(fake_sendgrid)[0]["subject"] == "Order A-1 shipped"
    assert sent_pushes(fake_fcm)[0]["token"] == "ada-fcm-token"
    assert json.loads(fake_webpush.received[0]["payload"])["title"] == "Order A-1"

    # Twilio reports delivery, signed with the account's auth token.
    sms = messages["sms"]
    params = {"MessageSid": sms.provider_message_id, "MessageStatus": "delivered", "AccountSid": "AC1"}
    signature = twilio_signature("https://hub.example.com/webhooks/twilio/status", params, AUTH_TOKEN)
    assert (
        client.post("/webhooks/twilio/status", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204
    )

    # SendGrid reports delivery, signed with ECDSA P-256.
    email = messages["email"]
    body = every_fake.body(
        [
            {
                "event": "delivered",
                "sg_event_id": "ev-1",
                "timestamp": int(time.time()),
                MESSAGE_ID_ARG: str(email.id),
            }
        ]
    )
    response = client.post(
        "/webhooks/sendgrid/events", data=body, content_type="application/json", **every_fake.sign(body)
    )
    assert response.status_code == 204

    # Push services give no delivery reports: the app and the service worker post the signed
    # receipt URL the push carried when they show it.
    fcm_receipt = sent_pushes(fake_fcm)[0]["data"]["receipt_url"]
    web_receipt = json.loads(fake_webpush.received[0]["payload"])["receipt_url"]
    for url in (fcm_receipt, web_receipt):
        assert url.startswith("https://hub.example.com/webhooks/push/receipt/")
        assert client.post(url.removeprefix("https://hub.example.com")).status_code == 204

    for message in (sms, email, messages["push"], web):
        message.refresh_from_db()
        assert message.status == S.DELIVERED
        assert list(message.events.values_list("status", flat=True)) == [
            "accepted",
            "queued",
            "sending",
            "sent",
            "delivered",
        ]
    assert audit_log_sequenced_and_verified().ok
