"""SendGrid's signed Event Webhook: ECDSA P-256 over timestamp + body, events by custom_args."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from bench.fakes.signing import SendGridSigner
from hub.contacts.models import ConsentEntry, Suppression
from hub.messaging.models import EventKind
from hub.messaging.models import MessageStatus as S
from hub.providers.sendgrid import MESSAGE_ID_ARG

pytestmark = pytest.mark.django_db

URL = "/webhooks/sendgrid/events"


def event(message, name, **extra):
    return {
        "email": message.to,
        "timestamp": int(time.time()),
        "event": name,
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": f"{message.provider_message_id}.filter0001",
        MESSAGE_ID_ARG: str(message.id),
        **extra,
    }


def post(client, signer, events, *, timestamp=None, body=None):
    raw = signer.body(events)
    headers = signer.sign(raw, timestamp)
    return client.post(
        URL, data=body if body is not None else raw, content_type="application/json", **headers
    )


def test_signed_delivered_event_delivers_the_message(client, signer, sent_email):
    response = post(client, signer, [event(sent_email, "processed"), event(sent_email, "delivered")])
    assert response.status_code == 204
    sent_email.refresh_from_db()
    assert sent_email.status == S.DELIVERED
    assert sent_email.events.filter(kind=EventKind.PROVIDER, detail__event="processed").exists()


def test_tampered_body_is_refused_and_changes_nothing(client, signer, sent_email):
    events = [event(sent_email, "delivered")]
    tampered = signer.body([{**events[0], "event": "bounce"}])
    response = post(client, signer, events, body=tampered)
    assert response.status_code == 403
    sent_email.refresh_from_db()
    assert sent_email.status == S.SENT


def test_signature_from_another_key_is_refused(client, signer, sent_email):
    response = post(client, SendGridSigner(), [event(sent_email, "delivered")])
    assert response.status_code == 403


def test_unsigned_is_refused(client, signer, sent_email):
    response = client.post(
        URL, data=signer.body([event(sent_email, "delivered")]), content_type="application/json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize("skew", [-330, 330])
def test_stale_or_future_timestamp_is_refused(client, signer, sent_email, skew):
    response = post(client, signer, [event(sent_email, "delivered")], timestamp=int(time.time()) + skew)
    assert response.status_code == 403


def test_replayed_batch_changes_nothing_the_second_time(client, signer, sent_email):
    batch = [event(sent_email, "delivered"), event(sent_email, "open")]
    for _ in range(2):
        assert post(client, signer, batch).status_code == 204
    assert sent_email.events.filter(kind=EventKind.STATUS, status=S.DELIVERED).count() == 1
    assert sent_email.events.filter(kind=EventKind.ENGAGEMENT, status="opened").count() == 1


def test_hard_bounce_bounces_and_suppresses(client, signer, sent_email):
    post(client, signer, [event(sent_email, "bounce", type="bounce", reason="550 5.1.1 no such user")])
    sent_email.refresh_from_db()
    assert sent_email.status == S.BOUNCED
    assert Suppression.objects.filter(channel="email", address=sent_email.to, reason="hard_bounce").exists()


def test_hard_bounce_and_complaint_write_consent_ledger_entries(client, signer, sent_email, contact):
    """SPEC §2: bounces and complaints write to the consent ledger as well as suppressing."""
    post(client, signer, [event(sent_email, "bounce", type="bounce", reason="550 5.1.1")])
    post(client, signer, [event(sent_email, "spamreport")])
    entries = ConsentEntry.objects.filter(contact=contact).order_by("id")
    assert [(e.channel, e.purpose, e.granted, e.source) for e in entries] == [
        ("email", "marketing", False, "bounce"),
        ("email", "marketing", False, "complaint"),
    ]
    assert entries[0].evidence["message"] == str(sent_email.id) and entries[0].evidence["event"] == "bounce"
    assert sorted(Suppression.objects.values_list("reason", flat=True)) == ["hard_bounce"]


def test_blocked_bounce_is_undelivered_without_suppression(client, signer, sent_email):
    post(client, signer, [event(sent_email, "bounce", type="blocked")])
    sent_email.refresh_from_db()
    assert sent_email.status == S.UNDELIVERED
    assert not Suppression.objects.exists()


def test_spamreport_suppresses_and_withdraws_consent(client, signer, sent_email, contact):
    post(client, signer, [event(sent_email, "delivered"), event(sent_email, "spamreport")])
    assert Suppression.objects.filter(channel="email", reason="complaint").exists()
    entry = ConsentEntry.objects.get(contact=contact)
    assert (entry.channel, entry.granted, entry.source) == ("email", False, "complaint")
    assert sent_email.events.filter(kind=EventKind.ENGAGEMENT, status="complained").exists()


@pytest.mark.parametrize(
    ("name", "engagement"),
    [
        ("open", "opened"),
        ("click", "clicked"),
        ("unsubscribe", "unsubscribed"),
        ("group_unsubscribe", "unsubscribed"),
    ],
)
def test_engagement_lands_on_the_timeline(client, signer, sent_email, name, engagement):
    post(client, signer, [event(sent_email, "delivered"), event(sent_email, name)])
    sent_email.refresh_from_db()
    assert sent_email.status == S.DELIVERED
    assert sent_email.events.filter(kind=EventKind.ENGAGEMENT, status=engagement).count() == 1


def test_dropped_fails_and_late_delivered_keeps_it_failed(client, signer, sent_email):
    post(
        client,
        signer,
        [event(sent_email, "dropped", reason="Bounced Address"), event(sent_email, "delivered")],
    )
    sent_email.refresh_from_db()
    assert sent_email.status == S.FAILED


def test_marketing_mail_went_out_with_list_unsubscribe(sent_email, fake_sendgrid):
    from bench.fakes.sendgrid import sent_mails

    (body,) = sent_mails(fake_sendgrid)
    headers = body["personalizations"][0]["headers"]
    assert headers["List-Unsubscribe"].startswith("<http") and "/u/" in headers["List-Unsubscribe"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_reports_travel_to_the_events_queue_as_json_unchanged():
    """Webhooks answer at once and the events queue applies the reports: nothing is lost in
    the JSON round trip."""
    from datetime import UTC, datetime

    from hub.messaging.feedback import Misconfigured, Outcome
    from hub.messaging.reports import ProviderReport, report_from_json, report_to_json

    report = ProviderReport(
        event_id="ev-9",
        vendor_event="spamreport",
        outcome=Outcome(
            message_id=uuid.uuid4(),
            provider_message_id="SM1",
            status="bounced",
            error_code="550",
            error_class="permanent",
            permanent=True,
            engagement="complained",
            suppress="complaint",
            complaint=True,
            bounce=True,
            opt_out=True,
            device_gone=True,
            detail={"reason": "x"},
            occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            misconfigured=(Misconfigured("sendgrid", "401", 401),),
        ),
    )
    assert report_from_json(json.loads(json.dumps(report_to_json(report)))) == report


def test_an_event_about_an_unknown_message_is_not_marked_processed(client, signer, sent_email):
    from hub.providers.models import WebhookEvent

    stray = {**event(sent_email, "delivered"), MESSAGE_ID_ARG: str(uuid.uuid4())}
    assert post(client, signer, [stray, event(sent_email, "open")]).status_code == 204
    assert not WebhookEvent.objects.filter(event_id=stray["sg_event_id"]).exists()
    assert WebhookEvent.objects.count() == 1


def test_a_bounce_reason_quoting_the_address_is_not_shown_to_the_sending_key(client, signer, sent_email):
    """Mail servers quote the mailbox they refused, and SendGrid passes that on as ``reason``:
    the timeline a ``send`` key reads (no ``contacts:read``) must not carry the contact's email."""
    from hub.apikeys.services import apikey_create
    from hub.messaging.models import Notification
    from tests.factories import key_client

    issued = apikey_create(name="sender", scopes=["send"])
    Notification.objects.filter(pk=sent_email.notification_id).update(api_key=issued.api_key)
    reason = f"550 5.1.1 <{sent_email.to.upper()}>: Recipient address rejected: User unknown"
    post(client, signer, [event(sent_email, "bounce", type="bounce", reason=reason)])
    assert sent_email.events.filter(detail__reason=reason).exists()  # staff see it
    shown = key_client(issued).get(f"/api/v1/messages/{sent_email.id}")
    assert shown.status_code == 200
    assert sent_email.to.lower() not in shown.content.decode().lower()
    assert "Recipient address rejected" in shown.content.decode()
