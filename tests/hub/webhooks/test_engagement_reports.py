"""Engagement reaches the reports (issue 18 point 1): opens, clicks, unsubscribes and
complaints reported through the real, signed SendGrid webhook, the hub's own one-click
unsubscribe and push receipts are counted in the template's rollups and shown on the report
page a marketer reads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bench.fakes.sendgrid import sent_mails
from hub.messaging.links import push_receipt_url
from tests.hub.webhooks.test_sendgrid import event, post

pytestmark = pytest.mark.django_db

REPORT_URL = reverse("admin:workspace_report_changelist")


def post_signed(client, signer, events):
    assert post(client, signer, events).status_code == 204


def report_counts(client, staff_factory, key):
    client.force_login(staff_factory("Marketer"))
    response = client.get(REPORT_URL, {"template": key})
    assert response.status_code == 200
    return response.context["report"].total.counts


def test_sendgrid_engagement_is_counted_on_the_report_page(client, signer, sent_email, staff_factory):
    post_signed(
        client,
        signer,
        [
            event(sent_email, "delivered"),
            event(sent_email, "open"),
            event(sent_email, "open"),
            event(sent_email, "click", url="https://example.com/a"),
            event(sent_email, "unsubscribe"),
            event(sent_email, "spamreport"),
        ],
    )
    counts = report_counts(client, staff_factory, "news.weekly")
    assert (counts["sent"], counts["delivered"]) == (1, 1)
    assert (counts["opened"], counts["clicked"], counts["unsubscribed"], counts["complained"]) == (2, 1, 1, 1)


def test_a_replayed_engagement_batch_is_counted_once(client, signer, sent_email, staff_factory):
    batch = [event(sent_email, "open"), event(sent_email, "click")]
    post_signed(client, signer, batch)
    post_signed(client, signer, batch)
    counts = report_counts(client, staff_factory, "news.weekly")
    assert (counts["opened"], counts["clicked"]) == (1, 1)


def test_the_hubs_own_one_click_unsubscribe_is_counted(client, sent_email, fake_sendgrid, staff_factory):
    (body,) = sent_mails(fake_sendgrid)
    link = body["personalizations"][0]["headers"]["List-Unsubscribe"].strip("<>")
    path = link[link.index("/u/") :]
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert report_counts(client, staff_factory, "news.weekly")["unsubscribed"] == 1


def test_push_receipts_count_opens_and_clicks(client, sent_push, staff_factory):
    url = push_receipt_url(message_id=str(sent_push.id))
    path = url[url.index("/webhooks/") :]
    for kind in ("displayed", "opened", "clicked"):
        assert client.post(f"{path}?event={kind}").status_code == 204
    counts = report_counts(client, staff_factory, "app.alert")
    assert (counts["delivered"], counts["opened"], counts["clicked"]) == (1, 1, 1)


def test_counting_engagement_costs_the_same_queries_for_5_or_200_events(sent_email):
    """Engagement is counted per batch (one owner lookup, one upsert), not per event: 5 events
    cost what 40 do, 60 what 200 do. Past a multi-row INSERT's rows (``audit.rows.INSERT_MAX_ROWS``)
    their audit records also draw their numbers in a statement (and go by COPY): one more, once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hub.messaging.feedback import Outcome
    from hub.messaging.models import DailyRollup
    from hub.messaging.reports import ProviderReport, provider_reports_apply

    def apply(count, start):
        reports = [
            ProviderReport(f"ev-{start + i}", "open", Outcome(message_id=sent_email.id, engagement="opened"))
            for i in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            provider_reports_apply(provider="sendgrid", reports=reports)
        return len(queries)

    small, medium, large, larger = apply(5, 0), apply(40, 100), apply(60, 200), apply(200, 300)
    assert medium == small and larger == large, (small, medium, large, larger)
    assert large <= small + 1, (small, large)
    assert DailyRollup.objects.get(channel="email").opened == 305


def test_an_sms_stop_counts_as_an_unsubscribe_of_the_last_sms(
    client, twilio_configured, contact, staff_factory
):
    """A STOP reply through the signed Twilio inbound webhook is the unsubscribe of the latest
    SMS sent to that number: its template's report counts it (once, even if Twilio retries)."""
    from tests.factories import make_live_template
    from tests.hub.webhooks.test_twilio import inbound, post_signed, sent_message

    sent_message(make_live_template("promo.sale", category="marketing"), contact=contact)
    for _ in range(2):  # a retried webhook is the same inbound message
        assert (
            post_signed(client, "/webhooks/twilio/inbound", inbound("STOP", sid="SM-stop")).status_code == 200
        )
    assert report_counts(client, staff_factory, "promo.sale")["unsubscribed"] == 1


def test_a_stop_from_a_number_we_never_texted_counts_nowhere(
    client, twilio_configured, contact, staff_factory
):
    from tests.hub.webhooks.test_twilio import inbound, post_signed

    assert (
        post_signed(client, "/webhooks/twilio/inbound", inbound("STOP", sender="+447700900999")).status_code
        == 200
    )
    from hub.messaging.models import DailyRollup

    assert not DailyRollup.objects.filter(unsubscribed__gt=0).exists()
