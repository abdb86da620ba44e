"""Two-way conversations through the real webhooks (issue 18 point 6): inbound SMS (signed by
Twilio) and inbound email (SendGrid Inbound Parse, basic auth) land on a conversation with the
contact and the message they answer; calling services hear ``message.received``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from bench.fakes.callbacks import start_fake_receiver
from bench.fakes.server import FakeServer
from hub.apikeys.services import apikey_create
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint
from hub.callbacks.services import callbacks_deliver
from hub.callbacks.signing import callback_signature_valid
from hub.contacts.models import Contact, Conversation, InboundMessage
from hub.messaging import dispatch
from hub.messaging.intake import NotificationRequest, notifications_accept
from hub.messaging.models import Message, Notification
from hub.messaging.models import MessageStatus as S
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import ORDER_DATA
from tests.fake_servers import sendgrid_entry
from tests.hub.webhooks.test_twilio import PHONE, inbound, post_signed

pytestmark = pytest.mark.django_db

INBOUND_AUTH = "sendgrid:parse-secret"


@pytest.fixture
def receiver() -> Iterator[FakeServer]:
    server = start_fake_receiver()
    yield server
    server.stop()


def sent_by(api_key, template, contact, channel="sms") -> Message:
    (notification,) = notifications_accept(
        [
            NotificationRequest(
                template=template.key,
                to={"external_id": contact.external_id},
                data=ORDER_DATA,
                channels=[channel],
                reference="order-1",
            )
        ],
        api_key=api_key,
    )
    assert isinstance(notification, Notification)
    message = notification.messages.get()
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert message.status == S.SENT and message.provider_message_id
    return message


class TestInboundSms:
    def test_a_reply_lands_on_the_contacts_conversation_with_the_message_it_answers(
        self, client, twilio_configured, contact, live_template
    ):
        sent_by(None, live_template, contact)
        answered = sent_by(None, live_template, contact)  # the latest one is answered
        post_signed(client, "/webhooks/twilio/inbound", inbound("Can it come Friday?", sid="SM-a"))
        post_signed(client, "/webhooks/twilio/inbound", inbound("Thanks", sid="SM-b"))
        first, second = InboundMessage.objects.order_by("received_at", "id")
        assert (first.contact, first.answers_id, first.body) == (contact, answered.id, "Can it come Friday?")
        assert first.conversation == second.conversation
        conversation = Conversation.objects.get()
        assert (conversation.contact, conversation.channel) == (contact, "sms")
        assert PHONE not in conversation.address_hash  # known by digest only
        assert audit_log_sequenced_and_verified().ok

    def test_a_message_sent_from_another_sender_is_not_what_a_reply_to_us_answers(
        self, client, twilio_configured, contact, live_template
    ):
        message = sent_by(None, live_template, contact)
        message.notification.__class__.objects.filter(pk=message.notification_id).update(
            sms_sender="+15550009999"
        )
        post_signed(client, "/webhooks/twilio/inbound", inbound("hello"))
        assert InboundMessage.objects.get().answers_id is None  # we were written to at FROM_NUMBER

    def test_an_unknown_sender_lands_in_the_inbox_and_once_linked_later_replies_find_the_contact(
        self, client, twilio_configured, staff_factory
    ):
        stranger = "+447700900123"
        post_signed(client, "/webhooks/twilio/inbound", inbound("who is this?", sid="SM-1", sender=stranger))
        unknown = InboundMessage.objects.get()
        assert unknown.contact is None and unknown.answers_id is None
        person = Contact.objects.create(external_id="cust-9", email="nine@example.com")  # no phone on file
        support = staff_factory("Support")
        client.force_login(support)
        response = client.post(
            f"/admin/contacts/inboundmessage/{unknown.pk}/link/", {"external_id": "cust-9"}
        )
        assert response.status_code == 302
        unknown.refresh_from_db()
        assert unknown.contact == person and unknown.conversation.contact == person
        client.logout()
        post_signed(client, "/webhooks/twilio/inbound", inbound("it's me again", sid="SM-2", sender=stranger))
        assert InboundMessage.objects.get(provider_message_id="SM-2").contact == person

    def test_a_replayed_reply_changes_nothing_the_second_time(self, client, twilio_configured, contact):
        for _ in range(2):
            post_signed(client, "/webhooks/twilio/inbound", inbound("Hello?"))
        assert InboundMessage.objects.count() == 1 and Conversation.objects.count() == 1


class TestMessageReceivedCallback:
    def test_the_key_that_sent_the_answered_message_receives_it_signed(
        self, client, twilio_configured, contact, live_template, receiver
    ):
        issued = apikey_create(name="shop")
        endpoint = CallbackEndpoint.objects.create(api_key=issued.api_key, url=f"{receiver.base_url}/hooks")
        other = apikey_create(name="other-service")
        CallbackEndpoint.objects.create(api_key=other.api_key, url=f"{receiver.base_url}/other")
        answered = sent_by(issued.api_key, live_template, contact)
        CallbackDelivery.objects.all().delete()  # the status events of the send
        post_signed(client, "/webhooks/twilio/inbound", inbound("Can it come Friday?"))
        (delivery,) = CallbackDelivery.objects.all()
        assert delivery.endpoint == endpoint
        assert callbacks_deliver(delivery_ids=[delivery.id]) == 1
        (call,) = receiver.calls
        assert call.path == "/hooks"
        assert callback_signature_valid(
            secret=endpoint.secret,
            timestamp=call.headers["switchboard-timestamp"],
            body=call.body,
            signature=call.headers["switchboard-signature"],
        )
        (event,) = call.json()["events"]
        assert event["type"] == "message.received"
        assert (event["channel"], event["body"], event["contact"]) == (
            "sms",
            "Can it come Friday?",
            {"external_id": "cust-1"},
        )
        assert event["in_reply_to"] == {
            "message_id": str(answered.id),
            "notification_id": str(answered.notification_id),
            "reference": "order-1",
        }

    def test_an_unknown_sender_or_a_message_sent_by_no_key_calls_no_one(
        self, client, twilio_configured, contact, live_template
    ):
        issued = apikey_create(name="shop")
        CallbackEndpoint.objects.create(api_key=issued.api_key, url="https://service.example.com/hooks")
        sent_by(None, live_template, contact)  # staff/journey sends carry no key
        CallbackDelivery.objects.all().delete()
        post_signed(client, "/webhooks/twilio/inbound", inbound("hi", sid="SM-1"))
        post_signed(client, "/webhooks/twilio/inbound", inbound("hi", sid="SM-2", sender="+447700900555"))
        assert InboundMessage.objects.count() == 2 and not CallbackDelivery.objects.exists()


# --- email ------------------------------------------------------------------------------------


def basic(credentials: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def parse_form(*, sender="Ada <ada@example.com>", in_reply_to="", message_id="<r1@mail.example>", text="Yes"):
    headers = (
        f"From: {sender}\nTo: replies@hub.example.com\nSubject: Re: Your order\nMessage-ID: {message_id}\n"
    )
    if in_reply_to:
        headers += f"In-Reply-To: {in_reply_to}\nReferences: <older@mail.example> {in_reply_to}\n"
    return {
        "from": sender,
        "to": "replies@hub.example.com",
        "subject": "Re: Your order",
        "text": text,
        "html": f"<p>{text}</p>",
        "headers": headers,
        "envelope": json.dumps({"from": "ada@example.com", "to": ["replies@hub.example.com"]}),
        "SPF": "pass",
        "dkim": "{@example.com : pass}",
    }


@pytest.fixture
def inbound_auth(settings):
    settings.SENDGRID_INBOUND_BASIC_AUTH = INBOUND_AUTH
    return basic(INBOUND_AUTH)


@pytest.fixture
def emailed(settings, fake_sendgrid, contact, live_template):
    settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "email": [sendgrid_entry(fake_sendgrid)]}
    message = sent_by(None, live_template, contact, channel="email")
    (call,) = [c for c in fake_sendgrid.calls if c.path == "/v3/mail/send"]
    (personalization,) = call.json()["personalizations"]
    assert personalization["headers"]["Message-ID"] == f"<{message.id}@switchboard>"
    return message


class TestInboundEmail:
    def test_a_reply_naming_our_message_id_lands_on_the_conversation(
        self, client, emailed, inbound_auth, contact
    ):
        form = parse_form(in_reply_to=f"<{emailed.id}@switchboard>", text="Please leave it with a neighbour")
        response = client.post("/webhooks/sendgrid/inbound", form, **inbound_auth)  # multipart
        assert response.status_code == 200
        reply = InboundMessage.objects.get()
        assert (reply.channel, reply.contact, reply.answers_id) == ("email", contact, emailed.id)
        assert (reply.subject, reply.body) == ("Re: Your order", "Please leave it with a neighbour")
        assert reply.conversation is not None and reply.conversation.contact == contact

    def test_the_raw_mime_format_is_read_too(self, client, emailed, inbound_auth, contact):
        raw = (
            "From: Ada <ADA@example.com>\r\nTo: replies@hub.example.com\r\nSubject: Re: order\r\n"
            f"Message-ID: <raw1@mail.example>\r\nIn-Reply-To: <{emailed.id}@switchboard>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nMerci, vendredi c'est parfait.\r\n"
        )
        response = client.post(
            "/webhooks/sendgrid/inbound",
            {"email": raw, "to": "replies@hub.example.com", "SPF": "none", "dkim": "{@example.com : pass}"},
            **inbound_auth,
        )
        assert response.status_code == 200
        reply = InboundMessage.objects.get()
        assert (reply.contact, reply.answers_id, reply.body) == (
            contact,
            emailed.id,
            "Merci, vendredi c'est parfait.",
        )

    def test_a_forged_in_reply_to_naming_someone_elses_message_links_no_message(
        self, client, emailed, inbound_auth
    ):
        form = parse_form(sender="mallory@evil.example", in_reply_to=f"<{emailed.id}@switchboard>")
        client.post("/webhooks/sendgrid/inbound", form, **inbound_auth)
        reply = InboundMessage.objects.get()
        assert reply.answers_id is None and reply.contact is None  # the inbox, no callback

    @pytest.mark.parametrize(
        ("spf", "dkim"),
        [("fail", ""), ("softfail", "{@evil.example : pass}"), ("none", "{@example.com : fail}")],
    )
    def test_a_spoofed_sender_names_no_contact_and_answers_nothing(
        self, client, emailed, inbound_auth, spf, dkim
    ):
        form = parse_form(in_reply_to=f"<{emailed.id}@switchboard>") | {"SPF": spf, "dkim": dkim}
        assert client.post("/webhooks/sendgrid/inbound", form, **inbound_auth).status_code == 200
        reply = InboundMessage.objects.get()
        assert reply.contact is None and reply.answers_id is None  # the inbox, for support to judge

    def test_spf_passing_for_another_envelope_domain_does_not_vouch_for_the_from_header(
        self, client, emailed, inbound_auth
    ):
        """SPF checks the envelope sender, which a spoofer sets to their own domain: a pass for
        mallory@evil.example with ``From: ada@example.com`` and no DKIM names no contact."""
        form = parse_form(in_reply_to=f"<{emailed.id}@switchboard>") | {
            "envelope": json.dumps({"from": "bounce@evil.example", "to": ["replies@hub.example.com"]}),
            "SPF": "pass",
            "dkim": "{@evil.example : pass}",
        }
        assert client.post("/webhooks/sendgrid/inbound", form, **inbound_auth).status_code == 200
        reply = InboundMessage.objects.get()
        assert reply.contact is None and reply.answers_id is None

    def test_spf_passing_for_a_subdomain_of_the_from_domain_vouches_for_it(
        self, client, emailed, inbound_auth, contact
    ):
        form = parse_form(in_reply_to=f"<{emailed.id}@switchboard>") | {
            "envelope": json.dumps({"from": "bounces@mail.example.com", "to": ["replies@hub.example.com"]}),
            "dkim": "",
        }
        assert client.post("/webhooks/sendgrid/inbound", form, **inbound_auth).status_code == 200
        assert InboundMessage.objects.get().contact == contact

    def test_a_redelivered_email_is_kept_once(self, client, emailed, inbound_auth):
        for _ in range(2):
            assert client.post("/webhooks/sendgrid/inbound", parse_form(), **inbound_auth).status_code == 200
        assert InboundMessage.objects.count() == 1

    @pytest.mark.parametrize(
        "headers",
        [{}, basic("sendgrid:wrong"), basic("other:parse-secret"), {"HTTP_AUTHORIZATION": "Basic !!"}],
    )
    def test_unauthenticated_posts_are_refused_and_change_nothing(self, client, inbound_auth, headers):
        response = client.post("/webhooks/sendgrid/inbound", parse_form(), **headers)
        assert response.status_code == 403
        assert not InboundMessage.objects.exists() and not Conversation.objects.exists()

    def test_without_a_configured_secret_every_post_is_refused(self, client, settings):
        settings.SENDGRID_INBOUND_BASIC_AUTH = ""
        response = client.post("/webhooks/sendgrid/inbound", parse_form(), **basic(":"))
        assert response.status_code == 403 and not InboundMessage.objects.exists()
