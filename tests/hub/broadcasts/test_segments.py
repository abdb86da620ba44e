"""Issue 20, point 7: a broadcast to an attribute segment built from fields (attribute,
operator, value), compiled to the filter the API takes, with the audience count (one indexed
query) and the compliance forecast before Start; a wrong condition is a form error and saves
nothing."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from hub.broadcasts.audience import attribute_filter_query
from hub.broadcasts.errors import BroadcastRejected
from hub.broadcasts.models import Broadcast
from hub.broadcasts.segments import Condition, segment_compile, segment_count
from hub.contacts.models import Contact
from hub.messaging.models import Message
from templates_app.models import Template
from tests.factories import grant_consent, make_live_template, zone_at_local_hour
from tests.hub.broadcasts.test_admin_report import baseline_rules  # noqa: F401 - autouse fixture

SMS = {"channel": "sms", "locale": "en", "text": "Spring sale: 20% off this week. Reply STOP to opt out."}


def people() -> None:
    for i, (tier, orders) in enumerate([("gold", 5), ("gold", 1), ("silver", 9), ("bronze", 0)], start=1):
        contact = Contact.objects.create(
            external_id=f"p-{i}",
            phone=f"+4479000000{i:02d}",
            timezone=zone_at_local_hour(12),
            attributes={"tier": tier, "orders": orders, "vip": i == 1},
        )
        if i != 2:
            grant_consent(contact, "sms")


@pytest.mark.django_db
def test_conditions_compile_to_the_filter_the_api_takes_and_count_it():
    people()
    compiled = segment_compile(
        [Condition("tier", "in", "gold, silver"), Condition("orders", "gte", "2"), Condition("vip", "set")]
    )
    assert compiled == {"tier": ["gold", "silver"], "orders": {"$gte": 2}, "vip": {"$set": True}}
    assert segment_count(compiled) == 2  # p-1 and p-3
    assert segment_count(segment_compile([Condition("vip", "is", "yes")])) == 1
    assert segment_count({"tier": "gold"}) == 2  # the API's shape reads the same


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "field", "words"),
    [
        (Condition("tierr", "is", "gold"), "conditions-0-attribute", "No contact has an attribute 'tierr'."),
        (Condition("tier", "like", "gold"), "conditions-0-operator", "'like' is not an operator."),
        (
            Condition("orders", "is", "many"),
            "conditions-0-value",
            "'orders' holds numbers; 'many' is not a number.",
        ),
        (
            Condition("tier", "gte", "3"),
            "conditions-0-operator",
            "'tier' holds text; is at least compares numbers.",
        ),
        (
            Condition("vip", "is", "perhaps"),
            "conditions-0-value",
            "'vip' is yes or no; 'perhaps' is neither.",
        ),
        (Condition("tier", "is", ""), "conditions-0-value", "Enter a value."),
    ],
)
def test_a_wrong_condition_is_refused_on_its_field(condition, field, words):
    people()
    with pytest.raises(BroadcastRejected) as refused:
        segment_compile([condition])
    assert (refused.value.field, refused.value.detail) == (field, words)


@pytest.mark.postgres  # the GIN index is PostgreSQL's
@pytest.mark.django_db
def test_the_count_is_answered_by_the_attributes_index():
    """At a million contacts a scan would read every row: on PostgreSQL the segment compiles
    to JSON containment and key tests, which the GIN index (contacts/0011) serves."""
    query = Contact.objects.filter(
        attribute_filter_query({"tier": ["gold", "silver"], "vip": {"$set": True}})
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'contacts_contact'")
        assert "contacts_contact_attributes_gin" in {row[0] for row in cursor.fetchall()}
        cursor.execute("SET enable_seqscan = off")  # a tiny table: ask whether the index can serve
        try:
            cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) AS s", params)  # noqa: S608 - the ORM's SQL
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "contacts_contact_attributes_gin" in plan, plan


def segment_form(
    name: str, template: Template, channels: list[str], conditions: list[tuple[str, str, str]]
) -> dict[str, object]:
    """The POST of the segment form: a broadcast with routing "first" and these conditions
    (attribute, operator, value) as its rows."""
    form: dict[str, object] = {
        "name": name,
        "template": template.pk,
        "channels": channels,
        "routing": "first",
        "conditions-TOTAL_FORMS": str(len(conditions)),
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "20",
    }
    for i, (attribute, operator, value) in enumerate(conditions):
        form[f"conditions-{i}-attribute"] = attribute
        form[f"conditions-{i}-operator"] = operator
        form[f"conditions-{i}-value"] = value
    return form


@pytest.mark.django_db(transaction=True)
def test_admin_segment_shows_count_and_forecast_before_start_then_sends(admin_client):
    people()
    template = make_live_template("spring.segment", category="marketing", variants=[SMS], variables=[])
    form = segment_form("Gold spring", template, ["sms"], [("tier", "is", "gold"), ("", "is", "")])
    response = admin_client.post(reverse("admin:broadcasts_broadcast_segment"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    page = admin_client.get(response["Location"]).content.decode()
    assert re.search(r'id="report-valid">2<', page)
    assert re.search(r'id="report-segment">tier is gold<', page)
    assert re.search(r'id="report-allowed">1<', page) and "Would be blocked: No consent" in page
    assert not Message.objects.exists()
    broadcast = Broadcast.objects.get()
    assert broadcast.audience_filter == {"tier": "gold"} and broadcast.status == "draft"

    assert admin_client.post(response["Location"]).status_code == 302  # Start
    from hub.broadcasts.tasks import release_broadcasts

    release_broadcasts()
    broadcast.refresh_from_db()
    assert broadcast.total == 2 and broadcast.status == "completed"
    assert Message.objects.count() == 2  # one per contact of the segment, as fixed at Start
    assert Message.objects.get(status="blocked").to == "+447900000002"  # the one without consent


@pytest.mark.django_db
def test_admin_wrong_conditions_are_form_errors_and_save_nothing(admin_client):
    people()
    template = make_live_template("spring.segment", category="marketing", variants=[SMS], variables=[])
    form = {
        "name": "Bad",
        "template": template.pk,
        "routing": "first",
        "conditions-TOTAL_FORMS": "2",
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "20",
        "conditions-0-attribute": "",
        "conditions-0-operator": "is",
        "conditions-0-value": "",
        "conditions-1-attribute": "orders",
        "conditions-1-operator": "is",
        "conditions-1-value": "lots",
    }
    url = reverse("admin:broadcasts_broadcast_segment")
    page = admin_client.post(url, form)
    assert page.status_code == 200
    assert "&#x27;orders&#x27; holds numbers; &#x27;lots&#x27; is not a number." in page.content.decode()
    page = admin_client.post(url, {**form, "conditions-1-operator": "between"})
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    page = admin_client.post(url, {**form, "conditions-1-attribute": ""})
    assert "Add at least one condition." in page.content.decode()
    assert not Broadcast.objects.exists()


def test_the_filter_refuses_an_unknown_operator():
    with pytest.raises(BroadcastRejected) as refused:
        attribute_filter_query({"orders": {"$between": [1, 2]}})
    assert refused.value.code == "invalid_filter"


@pytest.mark.parametrize(
    "attribute_filter",
    [
        {"tier": {"$set": None}},  # was: no condition at all, so every contact
        {"tier": {"$set": "no"}},  # was: "no" is truthy, so "has tier"
        {"tier": {"$set": 0}},
        {"tier": [{"$gte": 1}]},  # non-scalar values in a list
        {"tier": [["gold"]]},
        {"tier\n": "gold"},  # a name with a trailing newline passed the `$` of the name pattern
        {"tier": ["x"] * 1001},  # a huge list: one containment test each
        {f"a{n}": "x" for n in range(101)},  # a huge number of keys
    ],
)
def test_the_filter_refuses_what_would_widen_or_blow_up_the_query(attribute_filter):
    with pytest.raises(BroadcastRejected) as refused:
        attribute_filter_query(attribute_filter)
    assert refused.value.code == "invalid_filter"


def test_the_api_filter_with_a_null_set_is_422_not_everyone(authed_client, live_template):
    Contact.objects.create(external_id="p-1", phone="+447900000001", attributes={"tier": "gold"})
    response = authed_client.post(
        "/api/v1/broadcasts",
        {"template": "order.shipped", "channels": ["sms"], "data": {"order_number": "A-1"},
         "audience": {"filter": {"attributes": {"tier": {"$set": None}}}}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 422 and response.json()["code"] == "invalid_filter"
    assert response["Content-Type"].startswith("application/problem+json")
    assert not Broadcast.objects.exists()


@pytest.mark.django_db
def test_the_forecast_counts_the_messages_the_send_will_make_when_a_channel_has_no_address(admin_client):
    """Routing "first" over SMS then email, to a contact with no phone: the send makes the SMS,
    blocked for want of an address, then the email. The forecast said "2 messages, 2 would be
    sent" where the send made 3, one blocked (seen on the segment walk's screenshots)."""
    Contact.objects.create(
        external_id="p-1", phone="+447900000001", email="a@example.com", attributes={"tier": "gold"}
    )
    Contact.objects.create(external_id="p-2", email="b@example.com", attributes={"tier": "gold"})
    email = {"channel": "email", "locale": "en", "subject": "Hi", "html": "<p>Your card is ready.</p>"}
    sms = {"channel": "sms", "locale": "en", "text": "Your card is ready."}
    template = make_live_template("card.ready", category="transactional", variants=[sms, email], variables=[])
    form = segment_form("Cards", template, ["sms", "email"], [("tier", "is", "gold")])
    response = admin_client.post(reverse("admin:broadcasts_broadcast_segment"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    page = admin_client.get(response["Location"]).content.decode()
    assert re.search(r'id="report-allowed">2<', page)
    assert "Would be blocked: No address for this channel" in page
    forecast = Broadcast.objects.get().validation_report["forecast"]
    assert admin_client.post(response["Location"]).status_code == 302  # Start
    from hub.broadcasts.tasks import release_broadcasts

    release_broadcasts()
    made = Message.objects.all()
    assert forecast["messages"] == made.count() == 3
    assert forecast["allowed"] == made.exclude(status="blocked").count() == 2
    assert (
        [b["count"] for b in forecast["blocked"]] == [made.filter(block_reason="no_address").count()] == [1]
    )
