"""Issue 20, point 1: the broadcast's validation report checks everything that decides a row
(required data, addresses on the chosen channels, a compliance forecast by the same engine)
before Start, and progress is honest: recipients and messages apart, reasons in words, and a
broadcast that sent nothing never shows a full bar."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from hub.broadcasts.models import Broadcast, BroadcastRecipient
from hub.broadcasts.tasks import release_broadcasts
from hub.contacts.models import Contact
from hub.messaging.models import Message
from tests.factories import grant_consent, make_live_template, zone_at_local_hour
from tests.hub.broadcasts.test_admin_csv import upload

SPRING_SMS = {
    "channel": "sms",
    "locale": "en",
    "text": "Hi {{ first_name }}, 20% off. Reply STOP to opt out.",
}
SPRING_EMAIL = {
    "channel": "email",
    "locale": "en",
    "subject": "20% off",
    "html": '<p>Hi {{ first_name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
}


@pytest.fixture(autouse=True)
def baseline_rules(transactional_db):
    """A transactional test before this one flushed the tables, migration-seeded rules too:
    put SPEC §2's baseline back (get_or_create, so a fresh database is left as it is)."""
    from importlib import import_module

    from django.apps import apps

    import_module("hub.compliance.migrations.0002_baseline_rules").create_baseline(apps, None)


@pytest.fixture
def spring(db):
    return make_live_template(
        "spring.offer",
        category="marketing",
        variants=[SPRING_SMS, SPRING_EMAIL],
        variables=[{"name": "first_name", "type": "string", "required": True, "example": "Ada"}],
    )


def contacts(n: int, *, consent: bool) -> None:
    for i in range(1, n + 1):
        contact = Contact.objects.create(
            external_id=f"c-{i}",
            phone=f"+4479000000{i:02d}",
            email=f"c{i}@example.com",
            timezone=zone_at_local_hour(12),
        )
        if consent:
            grant_consent(contact, "sms", "email")


def report_of(admin_client, template, rows, mapping, **fields):
    _, location = upload(admin_client, template, rows, **fields)
    response = admin_client.post(location, mapping)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"], admin_client.get(response["Location"]).content.decode()


def started(admin_client, report_url):
    assert admin_client.post(report_url).status_code == 302
    for _ in range(5):
        release_broadcasts()
    broadcast = Broadcast.objects.get()
    return admin_client.get(reverse("admin:broadcasts_broadcast_progress", args=[broadcast.id])).json()


@pytest.mark.django_db(transaction=True)
def test_the_report_forecasts_blocks_by_the_engine_and_progress_never_shows_success_for_nothing(
    admin_client, spring
):
    """The "Why" example: the report said "Will be sent 3"; after Start the page said
    "Completed" with a full 100 % bar though nothing was sent."""
    contacts(3, consent=False)
    rows = ["external_id,first_name", "c-1,Ada", "c-2,Bob", "c-3,Cy"]
    report_url, page = report_of(admin_client, spring, rows, {"col_0": "external_id", "col_1": "data"})
    assert re.search(r'id="report-valid">3<', page)
    assert re.search(r'id="report-messages">3<', page) and re.search(r'id="report-allowed">0<', page)
    assert "Would be blocked: No consent" in page
    assert "no marketing sms consent is recorded" in page  # the engine's sentence
    assert 'id="report-nothing"' in page
    progress = started(admin_client, report_url)
    assert progress["done"] is True
    assert progress["went_out"] == 0 and progress["sent_percent"] == 0
    assert progress["summary"].startswith("Completed") and ": nothing was sent." in progress["summary"]
    assert "3 recipients" in progress["summary"] and "3 messages" in progress["summary"]
    assert "No consent 3" in progress["summary"]


@pytest.mark.django_db(transaction=True)
def test_a_row_missing_required_data_is_skipped_in_the_report_with_the_reason_in_words(admin_client, spring):
    contacts(2, consent=True)
    rows = ["external_id,name", "c-1,Ada", "c-2,Bob"]  # the template wants first_name
    _, page = report_of(admin_client, spring, rows, {"col_0": "external_id", "col_1": "data"})
    assert re.search(r'id="report-valid">0<', page) and re.search(r'id="report-skipped">2<', page)
    assert "missing or wrong data" in page and "&#x27;first_name&#x27; is required" in page
    skipped = BroadcastRecipient.objects.filter(state="skipped").order_by("row").first()
    assert skipped is not None and skipped.row == 1 and "'first_name' is required" in skipped.error


@pytest.mark.django_db(transaction=True)
def test_a_row_with_no_address_on_the_chosen_channel_is_skipped_before_start(admin_client, spring):
    rows = ["email,first_name", "a@example.com,Ada"]
    _, page = report_of(admin_client, spring, rows, {"col_0": "email", "col_1": "data"}, channels=["sms"])
    assert re.search(r'id="report-valid">0<', page)
    assert "no address: the row has no a phone number" in page or "no address" in page
    assert "disabled" in page  # nothing to start


@pytest.mark.django_db(transaction=True)
def test_the_csv_never_supplies_unsubscribe_url_and_a_column_for_it_is_ignored(admin_client, spring):
    """The "Why" example: rows were skipped as invalid_data because the CSV lacked
    unsubscribe_url; now the hub fills it, and a column for it is ignored."""
    contacts(1, consent=True)
    rows = ["external_id,first_name,unsubscribe_url", "c-1,Ada,https://evil.example/x"]
    report_url, page = report_of(
        admin_client,
        spring,
        rows,
        {"col_0": "external_id", "col_1": "data", "col_2": "data"},
        channels=["email"],
    )
    assert re.search(r'id="report-valid">1<', page) and re.search(r'id="report-allowed">1<', page)
    assert 'id="report-ignored"' in page
    progress = started(admin_client, report_url)
    assert progress["skipped"] == 0 and progress["messages"] == 1
    message = Message.objects.get()
    assert "unsubscribe_url" not in message.notification.data


@pytest.mark.django_db(transaction=True)
def test_progress_counts_recipients_and_messages_apart(admin_client, spring):
    contacts(2, consent=True)
    rows = ["external_id,first_name", "c-1,Ada", "c-2,Bob"]
    report_url, page = report_of(
        admin_client,
        spring,
        rows,
        {"col_0": "external_id", "col_1": "data"},
        channels=["sms", "email"],
        routing="all",
    )
    assert re.search(r'id="report-messages">4<', page)
    progress = started(admin_client, report_url)
    assert progress["rows"] == 2 and progress["messages"] == 4
    assert "2 recipients" in progress["summary"] and "4 messages" in progress["summary"]


@pytest.mark.django_db(transaction=True)
def test_rows_skipped_at_fan_out_show_their_reason_in_words_in_admin(admin_client, spring):
    contacts(1, consent=True)
    rows = ["external_id,first_name", "c-1,Ada"]
    report_url, _ = report_of(admin_client, spring, rows, {"col_0": "external_id", "col_1": "data"})
    Contact.objects.all().delete()  # gone between the report and Start
    progress = started(admin_client, report_url)
    assert progress["skipped"] == 1 and progress["went_out"] == 0
    broadcast = Broadcast.objects.get()
    page = admin_client.get(
        reverse("admin:broadcasts_broadcast_change", args=[broadcast.id])
    ).content.decode()
    assert "unknown_contact: There is no contact with external_id" in page
    assert "Forecast before Start: " in page and "messages would be sent" in page
    assert "&quot;forecast&quot;" not in page  # the report in words, not raw JSON
