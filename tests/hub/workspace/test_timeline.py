"""The contact timeline for support: every channel, statuses, inbound replies, consent changes
and suppressions, newest first, on one page."""

from __future__ import annotations

import difflib
import itertools
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.services import Actor
from hub.contacts.models import InboundMessage
from hub.contacts.services import consent_record, suppression_add
from tests.factories import grant_consent, make_message


def test_support_sees_everything_newest_first(client, staff_factory, contact, live_template):
    sms = make_message(template=live_template, contact=contact, outcome="delivered")
    consent_record(
        contact=contact,
        channel="sms",
        purpose="marketing",
        granted=False,
        source="sms_keyword",
        actor=Actor.system(),
    )
    InboundMessage.objects.create(
        contact=contact, channel="sms", from_address=contact.phone, body="STOP", keyword="opt_out"
    )
    suppression_add(channel="sms", address=contact.phone, reason="sms_opt_out", actor=Actor.system())
    email = make_message(template=live_template, contact=contact, channel="email", outcome="bounced")

    client.force_login(staff_factory("Support"))
    response = client.get(reverse("admin:workspace_contacttimeline_change", args=[contact.pk]))
    assert response.status_code == 200
    entries = response.context["entries"]
    assert [e.kind for e in entries] == ["message", "suppression", "inbound", "consent", "message"]
    assert entries[0].message == email and entries[0].status == "bounced"
    assert [e.status for e in entries[-1].events] == ["accepted", "queued", "sending", "sent", "delivered"]
    assert entries[-1].message == sms
    assert b"STOP" in response.content and b"withdrawn" in response.content
    # The status column reads in words: it showed the codes "sms_opt_out" and "opt_out".
    assert (entries[1].status, entries[2].status) == ("in force", "Opt-out")
    assert b"sms_opt_out" not in response.content and b">opt_out<" not in response.content
    # Support cannot take evidence packs: the link is not offered.
    assert b"Evidence pack" not in response.content


def test_support_finds_a_contact_by_part_of_a_name_in_any_case(client, staff_factory, db):
    """Issue 20: "ada" found nothing; support had to type an exact id, email or phone."""
    from hub.contacts.models import Contact

    ada = Contact.objects.create(
        external_id="CUST-77",
        email="a.lovelace@example.com",
        phone="+447911123456",
        attributes={"name": "Ada Lovelace"},
    )
    Contact.objects.create(external_id="cust-78", attributes={"name": "Grace Hopper"})
    client.force_login(staff_factory("Support"))
    url = reverse("admin:workspace_contacttimeline_changelist")

    def found(q: str) -> list[str]:
        return [c.external_id for c in client.get(url, {"q": q}).context["cl"].result_list]

    assert found("ada") == ["CUST-77"]  # name, any case
    assert found("LOVELACE@") == ["CUST-77"]  # part of the email
    assert found("7911 123") == ["CUST-77"]  # phone fragment as people type it
    assert found("cust-7") == ["CUST-77", "cust-78"]  # part of the external id, any case
    assert found("CUST-77") == ["CUST-77"]
    assert found("cu") == []  # too short to be partial: exact external ids only
    assert found("nobody") == []
    assert list(client.get(url).context["cl"].result_list) == []  # nothing until a search
    assert ada.pk


def test_the_search_box_matches_once_per_search(client, staff_factory, db):
    """The match over every contact (trigram indexes at a million contacts) runs once: the page
    counts and lists the matched ids, not the match again (bench --only homes: the count and
    the rows each ran it, twice the time of the search)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hub.contacts.models import Contact

    Contact.objects.create(external_id="CUST-77", attributes={"name": "Ada Lovelace"})
    Contact.objects.create(external_id="cust-78", attributes={"name": "Ada Byron"})
    client.force_login(staff_factory("Support"))
    url = reverse("admin:workspace_contacttimeline_changelist")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"q": "ada"})
    assert [c.external_id for c in response.context["cl"].result_list] == ["CUST-77", "cust-78"]
    assert response.context["cl"].result_count == 2
    matching = [q["sql"] for q in captured.captured_queries if "LIKE" in q["sql"]]
    assert len(matching) == 1, matching


def test_other_people_are_not_shown(client, staff_factory, contact, live_template, db):
    from hub.contacts.models import Contact

    stranger = Contact.objects.create(external_id="cust-9", phone="+447700900999")
    make_message(template=live_template, contact=stranger, outcome="delivered")
    client.force_login(staff_factory("Support"))
    response = client.get(reverse("admin:workspace_contacttimeline_change", args=[contact.pk]))
    assert response.context["entries"] == []
    assert client.get(reverse("admin:workspace_contacttimeline_change", args=[999999])).status_code == 404


def test_support_sees_the_journeys_a_contact_is_in(client, staff_factory, contact):
    from tests.factories import make_live_template
    from tests.hub.journeys.conftest import definition, live_journey, send_event

    make_live_template("order.shipped")
    live_journey(definition(steps=[{"id": "pause", "type": "wait", "duration": "1h"}]))
    send_event("signed.up")

    client.force_login(staff_factory("Support"))
    response = client.get(reverse("admin:workspace_contacttimeline_change", args=[contact.pk]))
    entries = [e for e in response.context["entries"] if e.kind == "journey"]
    assert [(e.summary, e.status) for e in entries] == [("welcome v1, at step pause", "waiting")]


# --- Issue 20 point 6: the contact's page reads as the customer lived it ----------------------

PAGE = "admin:workspace_contacttimeline_change"


def page(client, contact, **params):
    return client.get(reverse(PAGE, args=[contact.pk]), params)


def kinds(response) -> list[str]:
    return [e.kind for e in response.context["entries"]]


@pytest.mark.parametrize(
    ("role", "visible"), [("Support", False), ("Compliance", True), ("Marketer", False), ("Operator", False)]
)
def test_only_compliance_may_see_addresses_in_full(staff_factory, role, visible):
    from hub.contacts.masking import addresses_visible

    assert addresses_visible(staff_factory(role)) is visible


def test_support_reads_addresses_masked_on_the_server(client, staff_factory, contact, live_template):
    make_message(template=live_template, contact=contact, channel="email")
    InboundMessage.objects.create(contact=contact, channel="sms", from_address=contact.phone, body="Thanks")
    suppression_add(channel="sms", address=contact.phone, reason="sms_opt_out", actor=Actor.system())
    client.force_login(staff_factory("Support"))
    response = page(client, contact)
    body = response.content.decode()
    assert contact.email not in body and contact.phone not in body and "7911123" not in body
    assert "a•••@example.com" in body and "+44•••••••456" in body  # enough to confirm with the caller
    assert {e.address for e in response.context["entries"]} == {"a•••@example.com", "+44•••••••456"}
    assert "Addresses are masked" in body


def test_a_role_granted_the_permission_sees_addresses_in_full(client, staff_factory, contact, live_template):
    from django.contrib.auth.models import Permission

    make_message(template=live_template, contact=contact, channel="email")
    support = staff_factory("Support")
    support.user_permissions.add(Permission.objects.get(codename="view_contact_addresses"))
    client.force_login(support)
    body = page(client, contact).content.decode()
    assert contact.email in body and contact.phone in body and "masked" not in body


def test_address_masks():
    from hub.contacts.masking import address_masked

    assert address_masked("ada@example.com") == "a•••@example.com"
    assert address_masked("+447911123456") == "+44•••••••456"
    assert address_masked("0791112") == "•••••12"
    assert address_masked("abc") == "•••"
    assert address_masked("") == ""


def test_each_message_shows_its_status_trail_content_and_why(client, staff_factory, contact, live_template):
    blocked = make_message(
        template=live_template,
        contact=contact,
        channel="email",
        outcome="blocked",
        fields={
            "blocked": {"block_reason": "no_consent", "decision": {"sentence": "blocked by consent v1: no"}}
        },
    )
    sent = make_message(template=live_template, contact=contact, outcome="delivered")
    client.force_login(staff_factory("Support"))
    response = page(client, contact)
    by_message = {e.message: e for e in response.context["entries"] if e.message}
    assert by_message[blocked].decision_sentence == "blocked by consent v1: no"
    assert by_message[blocked].status == "blocked: No consent"  # the reason in words
    assert by_message[sent].decision_sentence.startswith("allowed")  # the engine's own sentence
    assert by_message[sent].rendered == {"text": "Hi Ada, order A-1 is on its way."}
    body = response.content.decode()
    assert "blocked by consent v1: no" in body and "Hi Ada, order A-1 is on its way." in body
    assert "sending" in body and "delivered" in body  # the status trail


def test_hostile_content_and_inbound_text_are_escaped(client, staff_factory, contact, live_template):
    hostile = "<script>alert('x')</script>"
    make_message(
        template=live_template,
        contact=contact,
        channel="email",
        outcome="sent",
        fields={"sent": {"rendered": {"subject": hostile, "text": hostile, "html": f"<p>Hi</p>{hostile}"}}},
    )
    InboundMessage.objects.create(contact=contact, channel="sms", from_address=contact.phone, body=hostile)
    client.force_login(staff_factory("Support"))
    body = page(client, contact).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body  # subject, text and the SMS
    # The email's HTML is shown only inside a sandboxed frame (no scripts, no same origin).
    assert (
        'sandbox="" title="Email as cust-1 received it" srcdoc="&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;' in body
    )


def _history(contact, live_template):
    """An SMS, then an email, a STOP, its consent entry and suppression, a journey run."""
    from hub.journeys.models import JourneyRun

    sms = make_message(template=live_template, contact=contact, outcome="delivered")
    email = make_message(template=live_template, contact=contact, channel="email", outcome="bounced")
    InboundMessage.objects.create(
        contact=contact, channel="sms", from_address=contact.phone, body="STOP", keyword="opt_out"
    )
    consent_record(
        contact=contact, channel="sms", purpose="marketing", granted=False, source="sms_keyword",
        actor=Actor.system(),
    )  # fmt: skip
    suppression_add(channel="sms", address=contact.phone, reason="sms_opt_out", actor=Actor.system())
    return sms, email, JourneyRun


def test_filters_by_kind_channel_status_and_date(client, staff_factory, contact, live_template):
    sms, email, _ = _history(contact, live_template)
    client.force_login(staff_factory("Support"))
    assert kinds(page(client, contact)) == ["suppression", "consent", "inbound", "message", "message"]
    assert kinds(page(client, contact, kind="messages")) == ["message", "message"]
    assert kinds(page(client, contact, kind=["inbound", "consent"])) == ["suppression", "consent", "inbound"]
    assert [e.message for e in page(client, contact, channel="email").context["entries"]] == [email]
    by_channel = page(client, contact, channel="sms")
    assert kinds(by_channel) == ["suppression", "consent", "inbound", "message"]
    assert [e.message for e in page(client, contact, status="delivered").context["entries"]] == [sms]
    assert kinds(page(client, contact, status="failed")) == []
    today = timezone.localdate()
    assert len(kinds(page(client, contact, since=today.isoformat(), until=today.isoformat()))) == 5
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert kinds(page(client, contact, since=tomorrow)) == []
    assert kinds(page(client, contact, until=(today - timedelta(days=1)).isoformat())) == []
    assert b"Nothing matches these filters." in page(client, contact, since=tomorrow).content


def test_bad_filters_are_form_errors_and_show_nothing(client, staff_factory, contact, live_template):
    make_message(template=live_template, contact=contact)
    client.force_login(staff_factory("Support"))
    today = timezone.localdate()
    backwards = page(client, contact, since=today.isoformat(), until=(today - timedelta(days=2)).isoformat())
    assert (
        backwards.status_code == 400
        and "The end date is before the start date." in backwards.content.decode()
    )
    assert backwards.context["entries"] == []
    assert page(client, contact, status="nonsense").status_code == 400
    assert page(client, contact, since="yesterday").status_code == 400
    # Support may not read the audit log: its records are not offered, nor read when asked for.
    assert page(client, contact, kind="audit").status_code == 400


def test_audit_readers_see_the_contacts_audit_records_in_line(client, staff_factory, contact, live_template):
    _history(contact, live_template)
    client.force_login(staff_factory("superuser"))
    response = page(client, contact, kind="audit")
    [record] = response.context["entries"]
    assert (record.kind, record.summary) == ("audit", "consent.withdrawn")
    body = response.content.decode()
    assert '<th scope="row" style="width: 12em">Purpose</th><td>marketing</td>' in body  # not a dict
    assert "audit" in kinds(page(client, contact))
    client.force_login(staff_factory("Support"))
    assert "audit" not in kinds(page(client, contact))


def test_journey_runs_link_to_the_runs_timeline(client, staff_factory, contact):
    from hub.journeys.models import JourneyRun
    from tests.factories import make_live_template
    from tests.hub.journeys.conftest import definition, live_journey, send_event

    make_live_template("order.shipped")
    live_journey(definition(steps=[{"id": "pause", "type": "wait", "duration": "1h"}]))
    send_event("signed.up")
    run = JourneyRun.objects.get()
    client.force_login(staff_factory("Support"))
    response = page(client, contact, kind="journeys")
    assert [e.run for e in response.context["entries"]] == [run]
    assert reverse("admin:journeys_journeyrun_change", args=[run.pk]) in response.content.decode()


def test_consent_now_and_suppressions_head_the_page(client, staff_factory, contact, live_template):
    _history(contact, live_template)
    grant_consent(contact, "email")
    client.force_login(staff_factory("Support"))
    response = page(client, contact)
    now = {(c.channel, c.category): c.granted for c in response.context["consent"]}
    assert now == {
        ("sms", "transactional"): None, ("sms", "marketing"): False,
        ("email", "transactional"): None, ("email", "marketing"): True,
        ("push", "transactional"): None, ("push", "marketing"): None,
    }  # fmt: skip
    assert [(s.channel, s.reason) for s in response.context["suppressions"]] == [("sms", "sms_opt_out")]


_TIMELINE_TABLES = (
    '"messaging_',
    '"contacts_inbound',
    '"contacts_consent',
    '"contacts_suppression',
    '"journeys_',
    '"audit_',
)


def _timeline_reads(queries: Any) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and any(t in q["sql"] for t in _TIMELINE_TABLES)
    ]


def test_a_contact_with_ten_thousand_messages_reads_in_bounded_queries_and_pages(
    client, staff_factory, contact, live_template
):
    """Every kind is one indexed query with a LIMIT: the page costs the same number of queries
    with 10,000 messages as with one, shows TIMELINE_LIMIT entries and pages back without gaps."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hub.messaging.models import Message, Notification
    from hub.workspace.timeline import TIMELINE_LIMIT

    make_message(template=live_template, contact=contact)
    client.force_login(staff_factory("Support"))
    page(client, contact)  # warm: the per-process caches and the first "recently viewed" row
    with CaptureQueriesContext(connection) as one:
        assert page(client, contact).status_code == 200

    first = Message.objects.select_related("notification").get()
    start = timezone.now() - timedelta(days=30)
    clock = (start + timedelta(seconds=i) for i in itertools.count())
    with mock.patch("django.utils.timezone.now", side_effect=lambda: next(clock)):
        notifications = Notification.objects.bulk_create(
            Notification(
                template=live_template, template_version_id=first.notification.template_version_id,
                contact=contact, channels=["sms"],
            )
            for _ in range(9_999)
        )  # fmt: skip
        Message.objects.bulk_create(
            Message(
                notification=n, channel="sms", category="transactional", to=contact.phone, status="delivered"
            )
            for n in notifications
        )
    assert Message.objects.filter(notification__contact=contact).count() == 10_000

    with CaptureQueriesContext(connection) as many:
        response = page(client, contact)
    # The page's own reads (of messages, their events, inbound, consent, runs, audit) are as many
    # with 10,000 messages as with one, each message read with a LIMIT (or a DISTINCT). The rest of the request
    # (session, permissions, per-process caches that other tests may have left cold) is not this
    # page's concern, so it is shown, not counted.
    before, after = ([q["sql"][:90] for q in queries.captured_queries] for queries in (one, many))
    diff = "\n".join(difflib.unified_diff(before, after, lineterm=""))
    assert len(_timeline_reads(many)) == len(_timeline_reads(one)), diff
    message_reads = [sql for sql in _timeline_reads(many) if 'FROM "messaging_message"' in sql]
    # (a DISTINCT of the addresses used, for the suppressions, is bounded by the addresses)
    assert message_reads and all("LIMIT" in sql or "DISTINCT" in sql for sql in message_reads), message_reads
    entries = response.context["entries"]
    assert len(entries) == TIMELINE_LIMIT
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    older = response.context["older_query"]
    assert older and 'id="timeline-older"' in response.content.decode()
    second = client.get(reverse(PAGE, args=[contact.pk]) + "?" + older).context["entries"]
    assert len(second) == TIMELINE_LIMIT and second[0].at < entries[-1].at
    seen = {e.message.pk for e in entries} | {e.message.pk for e in second}
    assert len(seen) == 2 * TIMELINE_LIMIT


def test_search_results_name_each_match_with_addresses_masked(client, staff_factory, db):
    from hub.contacts.models import Contact

    Contact.objects.create(
        external_id="CUST-77", email="a.lovelace@example.com", phone="+447911123456",
        attributes={"name": "Ada Lovelace"},
    )  # fmt: skip
    client.force_login(staff_factory("Support"))
    body = client.get(reverse("admin:workspace_contacttimeline_changelist"), {"q": "ada"}).content.decode()
    assert "Ada Lovelace" in body and "a•••@example.com" in body and "+44•••••••456" in body
    assert "a.lovelace@example.com" not in body and "+447911123456" not in body
    client.force_login(staff_factory("superuser"))
    body = client.get(reverse("admin:workspace_contacttimeline_changelist"), {"q": "ada"}).content.decode()
    assert "a.lovelace@example.com" in body and "+447911123456" in body


def test_the_contacts_admin_masks_addresses_for_support_too(client, staff_factory, contact):
    """Masking on the contact's page would mean little if the Contacts list showed them."""
    pages = (
        reverse("admin:contacts_contact_changelist"),
        reverse("admin:contacts_contact_change", args=[contact.pk]),
    )
    client.force_login(staff_factory("Support"))
    for url in pages:
        body = client.get(url).content.decode()
        assert contact.email not in body and contact.phone not in body, url
        assert "a•••@example.com" in body and "+44•••••••456" in body, url
    assert client.get(pages[0], {"q": contact.email}).context["cl"].result_count == 1  # still found
    client.force_login(staff_factory("Compliance"))
    for url in pages:
        body = client.get(url).content.decode()
        assert contact.email in body and contact.phone in body, url
