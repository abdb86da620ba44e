"""The contact timeline for support: every channel, statuses, inbound replies, consent changes
and suppressions, newest first, on one page."""

from __future__ import annotations

from django.urls import reverse

from audit.services import Actor
from hub.contacts.models import InboundMessage
from hub.contacts.services import consent_record, suppression_add
from tests.factories import make_message


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
