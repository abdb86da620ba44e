"""Twilio webhooks: signed status callbacks and inbound SMS with keywords."""

from __future__ import annotations

import pytest

from bench.fakes.signing import twilio_signature
from bench.fakes.twilio import AUTH_TOKEN, FROM_NUMBER
from hub.contacts.models import ConsentEntry, InboundMessage, Suppression
from hub.messaging import dispatch
from hub.messaging.models import EventKind
from hub.messaging.models import MessageStatus as S
from hub.providers.models import SmsKeywordReplies
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import make_live_template, make_queued_messages

pytestmark = pytest.mark.django_db

PHONE = "+447911123456"


def post_signed(client, path, params, *, token=AUTH_TOKEN, signature=None, **extra):
    url = "https://hub.example.com" + path
    headers = (
        {}
        if signature == ""
        else {"HTTP_X_TWILIO_SIGNATURE": signature or twilio_signature(url, params, token)}
    )
    # The request reaches Django on an internal host and scheme, as behind a proxy.
    return client.post(path, params, HTTP_HOST="localhost:8000", **headers, **extra)


def sent_message(template, contact=None):
    (message,) = make_queued_messages(template, contact=contact)
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert message.status == S.SENT
    return message


def status_params(message, status, **extra):
    return {"MessageSid": message.provider_message_id, "MessageStatus": status, "AccountSid": "AC1", **extra}


class TestStatusCallback:
    def test_signed_delivered_report_delivers_the_message(self, client, live_template, twilio_configured):
        message = sent_message(live_template)
        response = post_signed(client, "/webhooks/twilio/status", status_params(message, "delivered"))
        assert response.status_code == 204
        message.refresh_from_db()
        assert message.status == S.DELIVERED
        assert audit_log_sequenced_and_verified().ok

    @pytest.mark.parametrize("signature", ["", "forged-signature"])
    def test_unsigned_or_forged_is_refused_and_changes_nothing(
        self, client, live_template, twilio_configured, signature
    ):
        message = sent_message(live_template)
        events = message.events.count()
        response = post_signed(
            client, "/webhooks/twilio/status", status_params(message, "delivered"), signature=signature
        )
        assert response.status_code == 403
        message.refresh_from_db()
        assert message.status == S.SENT and message.events.count() == events

    def test_tampered_parameters_are_refused(self, client, live_template, twilio_configured):
        message = sent_message(live_template)
        params = status_params(message, "delivered")
        signature = twilio_signature("https://hub.example.com/webhooks/twilio/status", params, AUTH_TOKEN)
        response = post_signed(
            client, "/webhooks/twilio/status", {**params, "MessageStatus": "failed"}, signature=signature
        )
        assert response.status_code == 403

    def test_replayed_and_out_of_order_reports_never_move_a_final_message(
        self, client, live_template, twilio_configured
    ):
        message = sent_message(live_template)
        for status in ("delivered", "delivered", "sent", "undelivered"):
            assert (
                post_signed(client, "/webhooks/twilio/status", status_params(message, status)).status_code
                == 204
            )
        message.refresh_from_db()
        assert message.status == S.DELIVERED
        statuses = list(message.events.filter(kind=EventKind.STATUS).values_list("status", flat=True))
        assert statuses.count(S.DELIVERED) == 1, "the replay changed nothing"
        assert message.events.filter(kind=EventKind.PROVIDER).count() == 2  # late sent, late undelivered

    def test_a_report_overtaking_the_hand_off_finds_its_message_by_our_id(
        self, client, live_template, twilio_configured
    ):
        from hub.messaging.lifecycle import Change, messages_transition

        (message,) = make_queued_messages(live_template)
        messages_transition([Change(message.id, S.SENDING)], actor=dispatch.DISPATCH_ACTOR, source="test")
        path = f"/webhooks/twilio/status?message={message.id}"
        params = {"MessageSid": "SMnot-yet-stored", "MessageStatus": "delivered", "AccountSid": "AC1"}
        signature = twilio_signature("https://hub.example.com" + path, params, AUTH_TOKEN)
        response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 204
        message.refresh_from_db()
        assert message.status == S.DELIVERED

    def test_the_message_id_in_the_url_is_covered_by_the_signature(
        self, client, live_template, twilio_configured
    ):
        message = sent_message(live_template)
        other = sent_message(live_template)
        params = {"MessageSid": "SMx", "MessageStatus": "failed", "AccountSid": "AC1"}
        signature = twilio_signature(
            f"https://hub.example.com/webhooks/twilio/status?message={message.id}", params, AUTH_TOKEN
        )
        response = client.post(
            f"/webhooks/twilio/status?message={other.id}", params, HTTP_X_TWILIO_SIGNATURE=signature
        )
        assert response.status_code == 403
        other.refresh_from_db()
        assert other.status == S.SENT

    def test_failed_with_21610_suppresses_the_number(self, client, live_template, twilio_configured, contact):
        message = sent_message(live_template, contact=contact)
        post_signed(client, "/webhooks/twilio/status", status_params(message, "failed", ErrorCode="21610"))
        message.refresh_from_db()
        assert message.status == S.FAILED
        assert Suppression.objects.filter(channel="sms", address=PHONE, reason="sms_opt_out").exists()
        assert not ConsentEntry.objects.get(contact=contact).granted


def inbound(body, sid="SM-in-1", sender=PHONE):
    return {"MessageSid": sid, "From": sender, "To": FROM_NUMBER, "Body": body, "AccountSid": "AC1"}


class TestInbound:
    @pytest.mark.parametrize(
        "body", ["STOP", " stop. ", "Opt-Out", "unsubscribe!", "Quit", "REVOKE", "optout", "end"]
    )
    def test_opt_out_withdraws_consent_and_suppresses(self, client, twilio_configured, contact, body):
        response = post_signed(client, "/webhooks/twilio/inbound", inbound(body))
        assert response.status_code == 200
        assert Suppression.objects.filter(
            channel="sms", address=PHONE, reason="sms_opt_out", lifted_at=None
        ).exists()
        entry = ConsentEntry.objects.get(contact=contact)
        assert (entry.channel, entry.purpose, entry.granted, entry.source) == (
            "sms",
            "marketing",
            False,
            "sms_keyword",
        )

    def test_an_inbound_stop_blocks_the_next_marketing_sms(self, client, twilio_configured, contact):
        marketing = make_live_template("promo.sale", category="marketing")
        post_signed(client, "/webhooks/twilio/inbound", inbound("Stop"))
        (message,) = make_queued_messages(marketing, to=PHONE, contact=contact)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.block_reason) == (S.BLOCKED, "suppressed")
        assert twilio_configured.calls == []

    def test_start_opts_back_in(self, client, twilio_configured, contact):
        post_signed(client, "/webhooks/twilio/inbound", inbound("STOP", sid="SM-1"))
        post_signed(client, "/webhooks/twilio/inbound", inbound("start", sid="SM-2"))
        assert not Suppression.objects.filter(channel="sms", address=PHONE, lifted_at=None).exists()
        latest = ConsentEntry.objects.filter(contact=contact).order_by("-created_at", "-id")[0]
        assert latest.granted and latest.source == "sms_keyword"

    def test_help_gets_the_reply_configured_in_admin(self, client, twilio_configured):
        SmsKeywordReplies.objects.create(help_reply="Acme alerts: call 0800 000 000. Reply STOP to stop.")
        response = post_signed(client, "/webhooks/twilio/inbound", inbound("Help"))
        assert response["Content-Type"] == "application/xml"
        assert (
            "<Message>Acme alerts: call 0800 000 000. Reply STOP to stop.</Message>"
            in response.content.decode()
        )

    def test_other_replies_land_on_the_contacts_timeline(self, client, twilio_configured, contact):
        post_signed(client, "/webhooks/twilio/inbound", inbound("Can I change the delivery day?"))
        reply = InboundMessage.objects.get(contact=contact)
        assert (reply.body, reply.keyword) == ("Can I change the delivery day?", "")
        assert not Suppression.objects.exists() and not ConsentEntry.objects.exists()
        assert (
            "<Message>"
            not in post_signed(client, "/webhooks/twilio/inbound", inbound("ok", sid="SM-2")).content.decode()
        )

    def test_a_redelivered_inbound_is_recorded_once(self, client, twilio_configured, contact):
        for _ in range(2):
            post_signed(client, "/webhooks/twilio/inbound", inbound("STOP"))
        assert InboundMessage.objects.count() == 1
        assert ConsentEntry.objects.count() == 1

    def test_forged_inbound_changes_nothing(self, client, twilio_configured, contact):
        response = post_signed(client, "/webhooks/twilio/inbound", inbound("STOP"), token="not-the-token")
        assert response.status_code == 403
        assert not InboundMessage.objects.exists() and not Suppression.objects.exists()


class TestRepeatedFormKeys:
    """Twilio signs every value of a repeated form key (e.g. several media URLs); the check
    must cover them all, not only the last one Django's ``POST.get`` returns."""

    REPEATED = {"MediaUrl": ["https://media.example/1.jpg", "https://media.example/2.jpg"]}

    def test_a_genuine_signature_over_a_repeated_key_is_accepted(self, client, twilio_configured, contact):
        response = post_signed(client, "/webhooks/twilio/inbound", {**inbound("STOP"), **self.REPEATED})
        assert response.status_code == 200, response.content
        assert Suppression.objects.filter(channel="sms", address=PHONE, lifted_at=None).exists()

    @pytest.mark.parametrize(
        "sent",
        [["https://media.example/2.jpg"], ["https://media.example/1.jpg", "https://evil.example/3.jpg"]],
        ids=["value-dropped", "value-swapped"],
    )
    def test_a_changed_value_of_a_repeated_key_is_refused(self, client, twilio_configured, contact, sent):
        params = {**inbound("STOP"), **self.REPEATED}
        signature = twilio_signature("https://hub.example.com/webhooks/twilio/inbound", params, AUTH_TOKEN)
        response = post_signed(
            client, "/webhooks/twilio/inbound", {**params, "MediaUrl": sent}, signature=signature
        )
        assert response.status_code == 403
        assert not InboundMessage.objects.exists() and not Suppression.objects.exists()


class TestRepeatedKeysTheHubReads:
    """Twilio's signature covers a repeated key's values as a sorted set: reordering them, or
    repeating one, keeps the signature valid while changing the value ``POST.get`` would
    return. Twilio itself never repeats the keys the hub reads, so a form that does is refused
    whole, on both webhooks, and nothing changes."""

    STATUS = "/webhooks/twilio/status"
    INBOUND = "/webhooks/twilio/inbound"

    def forge(self, client, path, signed, sent):
        signature = twilio_signature("https://hub.example.com" + path, signed, AUTH_TOKEN)
        return post_signed(client, path, sent, signature=signature)

    def test_inbound_values_reordered_are_refused(self, client, twilio_configured, contact):
        signed = {**inbound("STOP"), "Body": ["hello", "STOP"]}
        response = self.forge(client, self.INBOUND, signed, {**signed, "Body": ["STOP", "hello"]})
        assert response.status_code == 403
        assert not InboundMessage.objects.exists() and not Suppression.objects.exists()

    def test_inbound_key_repeated_with_the_same_value_is_refused(self, client, twilio_configured, contact):
        signed = inbound("STOP")
        response = self.forge(client, self.INBOUND, signed, {**signed, "Body": ["STOP", "STOP"]})
        assert response.status_code == 403
        assert not InboundMessage.objects.exists() and not Suppression.objects.exists()

    def test_status_values_reordered_are_refused(self, client, live_template, twilio_configured):
        message = sent_message(live_template)
        signed = status_params(message, "sent") | {"MessageStatus": ["sent", "failed"]}
        sent = signed | {"MessageStatus": ["failed", "sent"]}
        assert self.forge(client, self.STATUS, signed, sent).status_code == 403
        message.refresh_from_db()
        assert message.status == S.SENT

    def test_status_key_repeated_with_the_same_value_is_refused(
        self, client, live_template, twilio_configured
    ):
        message = sent_message(live_template)
        signed = status_params(message, "failed", ErrorCode="21610")
        sent = signed | {"ErrorCode": ["21610", "21610"]}
        assert self.forge(client, self.STATUS, signed, sent).status_code == 403
        message.refresh_from_db()
        assert message.status == S.SENT and not Suppression.objects.exists()

    def test_status_a_repeated_key_it_ignores_is_accepted_and_a_dropped_value_refused(
        self, client, live_template, twilio_configured
    ):
        message = sent_message(live_template)
        signed = status_params(message, "delivered") | {"ExtraMedia": ["a", "b"]}
        assert self.forge(client, self.STATUS, signed, signed | {"ExtraMedia": ["b"]}).status_code == 403
        message.refresh_from_db()
        assert message.status == S.SENT
        assert post_signed(client, self.STATUS, signed).status_code == 204
        message.refresh_from_db()
        assert message.status == S.DELIVERED


class TestOneFeedbackPath:
    """Twilio's 21610 (the person texted STOP) means the same whether Twilio answers a send with
    it or reports it later in a status callback: one code table, one outcome, one function."""

    def test_21610_at_send_time_and_by_status_callback_have_the_same_consequences(
        self, client, live_template, twilio_configured, contact
    ):
        from bench.fakes.twilio import UNSUBSCRIBED_NUMBER

        (at_send,) = make_queued_messages(live_template, to=UNSUBSCRIBED_NUMBER, contact=contact)
        dispatch.messages_dispatch(message_ids=[at_send.id])
        reported = sent_message(live_template, contact=contact)
        post_signed(client, "/webhooks/twilio/status", status_params(reported, "failed", ErrorCode="21610"))

        def consequences(message):
            message.refresh_from_db()
            suppression = Suppression.objects.get(channel="sms", address=message.to)
            entry = ConsentEntry.objects.get(contact=contact, evidence__message=str(message.id))
            return (
                message.status,
                message.error_code,
                suppression.reason,
                (entry.channel, entry.purpose, entry.granted, entry.source, entry.evidence["code"]),
            )

        expected = (S.FAILED, "21610", "sms_opt_out", ("sms", "marketing", False, "provider", "21610"))
        assert consequences(at_send) == consequences(reported) == expected
