"""Support and inbound messages in admin (issue 18 point 6, issue 20 point 6): replies made by
the intake and decided by compliance, audited with the staff member; linking unknown senders;
the sandbox simulator; and inbound bodies as personal data (retention, erasure, evidence)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditRecord
from audit.services import Actor
from hub.contacts.conversations import SUPPORT_REPLY_TEMPLATE
from hub.contacts.inbound import sms_inbound_receive
from hub.contacts.models import InboundMessage, Suppression
from hub.demo_templates import SUPPORT_REPLY, SUPPORT_REPLY_VARIABLES
from hub.erasure import contact_erase
from hub.messaging.models import Message, Notification
from hub.workspace.models import RetentionPolicy
from hub.workspace.retention import retention_purge
from tests.factories import make_live_template, make_staff_user
from tests.fake_servers import twilio_entry

pytestmark = pytest.mark.django_db


def received(body="Can it come on Friday?", sid="SM-in-1", sender="+447911123456"):
    return sms_inbound_receive(
        from_number=sender, to_number="+15005550006", body=body, provider="twilio", provider_message_id=sid
    ).inbound


@pytest.fixture
def reply_template(db):
    return make_live_template(
        SUPPORT_REPLY_TEMPLATE, variants=SUPPORT_REPLY, variables=SUPPORT_REPLY_VARIABLES, lint=True
    )


@pytest.fixture
def support(client):
    user = make_staff_user("Support", username="sam-support")
    client.force_login(user)
    return user


def reply_url(inbound):
    return f"/admin/contacts/inboundmessage/{inbound.pk}/reply/"


class TestReply:
    def test_a_reply_is_a_transactional_send_by_the_intake_audited_with_who_replied(
        self, client, contact, reply_template, support
    ):
        inbound = received()
        timeline = f"/admin/workspace/contacttimeline/{contact.pk}/change/"
        response = client.post(reply_url(inbound), {"body": "Yes, Friday works.", "next": timeline})
        assert response.status_code == 302 and response["Location"] == timeline
        notification = Notification.objects.get()
        message = notification.messages.get()
        assert (notification.template.key, notification.contact, message.channel, message.category) == (
            "support.reply",
            contact,
            "sms",
            "transactional",
        )
        assert notification.data == {"body": "Yes, Friday works."}
        assert notification.reference == f"conversation:{inbound.conversation_id}"
        assert message.status == "queued" and message.decision  # compliance decided it
        record = AuditRecord.objects.get(action="inbound.replied")
        assert record.actor_type == "user" and record.actor_id == str(support.pk)
        assert record.payload["notification"] == str(notification.pk)
        page = client.get(f"/admin/contacts/inboundmessage/{inbound.pk}/change/")
        assert b"conversation-reply" in page.content

    def test_compliance_decides_a_reply_like_any_send(self, client, contact, reply_template, support):
        inbound = received("STOP")  # the number is now suppressed
        response = client.post(reply_url(inbound), {"body": "Sorry to see you go"}, follow=True)
        message = Message.objects.get()
        assert (message.status, message.block_reason) == ("blocked", "suppressed")
        assert "Reply by sms: blocked (suppressed)." in response.content.decode()

    def test_without_a_live_support_reply_template_nothing_is_sent_and_the_page_says_why(
        self, client, contact, support
    ):
        inbound = received()
        response = client.post(reply_url(inbound), {"body": "Hello"}, follow=True)
        assert "no live &#x27;support.reply&#x27; template" in response.content.decode()
        assert not Notification.objects.exists()
        assert not AuditRecord.objects.filter(action="inbound.replied").exists()

    @pytest.mark.parametrize("body", ["", "   ", "x" * 1601])
    def test_an_empty_or_too_long_reply_is_refused(self, client, contact, reply_template, support, body):
        inbound = received()
        client.post(reply_url(inbound), {"body": body})
        assert not Notification.objects.exists()

    def test_an_unknown_sender_must_be_linked_before_a_reply(self, client, reply_template, support):
        inbound = received(sender="+447700900123")
        response = client.post(reply_url(inbound), {"body": "Hi"}, follow=True)
        assert "Link this message to a contact before replying." in response.content.decode()
        assert not Notification.objects.exists()

    def test_an_email_reply_gets_a_subject(self, client, contact, reply_template, support):
        from hub.contacts.inbound import InboundRequest, inbound_receive

        inbound = inbound_receive(
            InboundRequest(
                channel="email",
                from_address="ada@example.com",
                to_address="replies@hub.example.com",
                subject="Where is my parcel?",
                body="It has not come.",
                provider="sendgrid-inbound",
                provider_message_id="email:1",
            )
        ).inbound
        client.post(reply_url(inbound), {"body": "It is on its way."})
        notification = Notification.objects.get()
        assert notification.data == {"body": "It is on its way.", "subject": "Re: Where is my parcel?"}
        assert notification.messages.get().channel == "email"

    def test_an_offsite_next_is_not_followed(self, client, contact, reply_template, support):
        inbound = received()
        response = client.post(reply_url(inbound), {"body": "ok", "next": "https://evil.example/"})
        assert response["Location"] == f"/admin/contacts/inboundmessage/{inbound.pk}/change/"

    @pytest.mark.parametrize("role", ["Marketer", "Operator", "Compliance"])
    def test_other_roles_may_not_reply_link_or_simulate(self, client, contact, reply_template, role):
        client.force_login(make_staff_user(role, username=f"x-{role}"))
        inbound = received()
        assert client.post(reply_url(inbound), {"body": "hi"}).status_code == 403
        link = f"/admin/contacts/inboundmessage/{inbound.pk}/link/"
        assert client.post(link, {"external_id": contact.external_id}).status_code == 403
        simulate = "/admin/contacts/inboundmessage/simulate/"
        assert client.post(simulate, {"contact": contact.pk, "body": "STOP"}).status_code == 403
        assert not Notification.objects.exists() and InboundMessage.objects.count() == 1


class TestLink:
    def test_linking_to_a_contact_that_does_not_exist_changes_nothing(self, client, support):
        inbound = received(sender="+447700900123")
        response = client.post(
            f"/admin/contacts/inboundmessage/{inbound.pk}/link/", {"external_id": "nobody"}, follow=True
        )
        assert "No contact has that external id." in response.content.decode()
        inbound.refresh_from_db()
        assert inbound.contact is None

    def test_the_inbox_lists_unknown_senders(self, client, contact, support):
        received(sender="+447700900123", sid="SM-x")
        received(sid="SM-y")
        page = client.get("/admin/contacts/inboundmessage/?sender=unknown")
        assert page.status_code == 200
        assert "Unknown sender +447700900123" in page.content.decode()
        assert "cust-1" not in page.content.decode()


class TestSimulate:
    def test_in_sandbox_a_simulated_stop_suppresses_through_the_webhooks_service(
        self, client, contact, support
    ):
        response = client.post(
            "/admin/contacts/inboundmessage/simulate/", {"contact": contact.pk, "body": "STOP"}, follow=True
        )
        assert "Simulated an SMS from cust-1: Opt-out." in response.content.decode()
        inbound = InboundMessage.objects.get()
        assert inbound.simulated and inbound.contact == contact and inbound.keyword == "opt_out"
        assert Suppression.objects.filter(channel="sms", lifted_at=None).exists()
        record = AuditRecord.objects.get(action="inbound.received")
        assert record.actor_type == "user" and record.actor_id == str(support.pk)
        client.post("/admin/contacts/inboundmessage/simulate/", {"contact": contact.pk, "body": "START"})
        assert not Suppression.objects.filter(channel="sms", lifted_at=None).exists()

    def test_the_timeline_offers_the_simulator_only_in_sandbox(
        self, client, contact, support, settings, fake_twilio
    ):
        timeline = f"/admin/workspace/contacttimeline/{contact.pk}/change/"
        assert b"inbound-simulate" in client.get(timeline).content
        settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "sms": [twilio_entry(fake_twilio)]}
        assert b"inbound-simulate" not in client.get(timeline).content
        response = client.post(
            "/admin/contacts/inboundmessage/simulate/", {"contact": contact.pk, "body": "STOP"}, follow=True
        )
        assert "only while SMS is in sandbox mode" in response.content.decode()
        assert not InboundMessage.objects.exists() and not Suppression.objects.exists()


class TestPrivacy:
    def test_erasure_and_retention_blank_the_body_kept_in_message_received_deliveries(self, contact):
        from hub.apikeys.services import apikey_create
        from hub.callbacks.models import CallbackDelivery, CallbackEndpoint
        from hub.messaging import dispatch
        from hub.messaging.intake import NotificationRequest, notifications_accept
        from tests.factories import ORDER_DATA

        template = make_live_template()
        issued = apikey_create(name="shop")
        CallbackEndpoint.objects.create(api_key=issued.api_key, url="https://service.example.com/hooks")
        (notification,) = notifications_accept(
            [
                NotificationRequest(
                    template=template.key, to={"external_id": "cust-1"}, data=ORDER_DATA, channels=["sms"]
                )
            ],
            api_key=issued.api_key,
        )
        assert isinstance(notification, Notification)
        dispatch.messages_dispatch(message_ids=[m.id for m in notification.messages.all()])
        CallbackDelivery.objects.all().delete()
        received("My secret reply", sid="SM-1")
        received("Another", sid="SM-2", sender="+447911123456")
        first, second = CallbackDelivery.objects.order_by("created_at")
        assert first.events["events"][0]["body"] == "My secret reply"
        RetentionPolicy.objects.create(channel="sms", days=30)
        InboundMessage.objects.filter(provider_message_id="SM-1").update(
            received_at=timezone.now() - timedelta(days=31)
        )
        retention_purge(now=timezone.now())
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.events["events"][0]["body"] == "" and second.events["events"][0]["body"] == "Another"
        contact_erase(contact=contact, actor=Actor.system())
        second.refresh_from_db()
        assert second.events["events"][0]["body"] == ""
        assert second.events["events"][0]["type"] == "message.received"  # still delivered, without it

    def test_erasure_removes_inbound_bodies_subjects_and_addresses(self, contact):
        inbound = received("My card number is in this message")
        contact_erase(contact=contact, actor=Actor.system())
        inbound.refresh_from_db()
        assert (inbound.body, inbound.subject, inbound.from_address) == ("", "", "")

    def test_retention_purges_old_inbound_bodies(self, contact):
        inbound = received()
        RetentionPolicy.objects.create(channel="sms", days=30)
        InboundMessage.objects.filter(pk=inbound.pk).update(received_at=timezone.now() - timedelta(days=31))
        counts = retention_purge(now=timezone.now())
        assert counts["inbound"] == 1
        inbound.refresh_from_db()
        assert (inbound.body, inbound.from_address) == ("", "")

    def test_the_evidence_pack_includes_the_inbound_messages(self, contact, live_template):
        from hub.workspace.evidence import evidence_pack_build

        received("Friday please")
        pack = zipfile.ZipFile(io.BytesIO(evidence_pack_build(contact=contact)))
        (entry,) = json.loads(pack.read("inbound.json"))
        assert entry["body"] == "Friday please" and entry["conversation"]
