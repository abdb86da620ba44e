"""Compliance officers in admin: edit a rule (saving appends a version), preview a change on
past messages before saving, and read why a message was blocked or deferred in one sentence."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from audit.services import Actor
from hub.compliance.models import Rule
from hub.contacts.models import Contact
from hub.messaging.decide import messages_decide
from hub.messaging.lifecycle import messages_transition
from hub.messaging.models import Message, Notification
from tests.factories import grant_consent, staff_user, zone_at_local_hour


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rule_form(**overrides):
    data = {
        "key": "quiet_hours_marketing_sms",
        "kind": "quiet_hours",
        "description": "Marketing SMS only in the daytime.",
        "enabled": "on",
        "category": "marketing",
        "channel": "sms",
        "countries": "",
        "effect": "defer",
        "quiet_start": "08:00",
        "quiet_end": "21:00",
        "note": "",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
        "days": "7",
    }
    data.update(overrides)
    return data


def decided_messages(template, hours):
    """One consented marketing SMS per contact, each at a given local hour, decided and stored."""
    rows = []
    for i, hour in enumerate(hours):
        contact = Contact.objects.create(
            external_id=f"p-{i}", phone=f"+4479111{i:05d}", timezone=zone_at_local_hour(hour)
        )
        grant_consent(contact, "sms")
        notification = Notification.objects.create(
            template=template, template_version=template.live_version, contact=contact
        )
        message = Message.objects.create(
            notification=notification, channel="sms", category="marketing", to=contact.phone
        )
        changes = messages_decide([message], contacts={message.id: contact}, now=timezone.now())
        messages_transition(changes, actor=Actor.system(), source="test")
        rows.append(message)
    return rows


@pytest.mark.django_db
class TestRuleAdmin:
    def test_saving_a_change_appends_a_version(self):
        client = login(staff_user("officer", "Compliance"))
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        url = f"/admin/compliance/rule/{rule.pk}/change/"
        assert client.get(url).status_code == 200
        response = client.post(url, rule_form(quiet_start="09:00", quiet_end="20:00", note="stricter"))
        assert response.status_code == 302, response.content.decode()[-2000:]
        latest = rule.versions.order_by("-number").first()
        assert latest is not None and latest.created_by is not None
        assert (latest.number, latest.params["start"], latest.note) == (2, "09:00", "stricter")
        assert latest.created_by.username == "officer"

    def test_adding_a_rule_creates_it_with_version_1(self):
        client = login(staff_user("officer", "Compliance"))
        form = rule_form(
            key="sms_countries",
            kind="country_allow",
            category="",
            effect="block",
            allowed_countries=["GB", "IE"],
        )
        response = client.post("/admin/compliance/rule/add/", form)
        assert response.status_code == 302, response.content.decode()[-1500:]
        rule = Rule.objects.get(key="sms_countries")
        version = rule.versions.get()
        assert (version.number, version.channel, version.params) == (1, "sms", {"allowed": ["GB", "IE"]})

    def test_bad_params_are_a_form_error_and_change_nothing(self):
        client = login(staff_user("officer", "Compliance"))
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        response = client.post(f"/admin/compliance/rule/{rule.pk}/change/", rule_form(quiet_start="late"))
        assert response.status_code == 200
        assert "must be a time of day" in response.content.decode()
        assert rule.versions.count() == 1

    def test_preview_counts_what_the_change_would_do_before_saving(self, marketing_template):
        """Two messages at 22:00 local were deferred; three at 19:00 were allowed. Ending the window at
        18:00 would defer all five; nothing is saved by previewing."""
        decided_messages(marketing_template, [22, 22, 19, 19, 19])
        client = login(staff_user("officer", "Compliance"))
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        url = f"/admin/compliance/rule/{rule.pk}/preview/"
        assert client.get(url).status_code == 200
        response = client.post(url, rule_form(quiet_end="18:00", _preview="Preview"))
        assert response.status_code == 200
        report = response.context["report"]
        [row] = report.rows
        assert (row.template, row.channel, row.total) == ("promo.spring", "sms", 5)
        assert (row.now_deferred, row.then_deferred, row.changed) == (2, 5, 3)
        assert 'id="preview-result"' in response.content.decode()
        assert rule.versions.count() == 1
        saved = client.post(url, rule_form(quiet_end="18:00", _save="Save"))
        assert saved.status_code == 302 and rule.versions.count() == 2

    def test_preview_from_the_change_form_keeps_the_edits(self, marketing_template):
        """The "Why" example: "Preview a change" on the rule form was a link, so what the
        officer had typed was lost. Now the change form posts its edits to the dry run."""
        decided_messages(marketing_template, [22, 19])
        client = login(staff_user("officer", "Compliance"))
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        preview_url = f"/admin/compliance/rule/{rule.pk}/preview/"
        change = client.get(f"/admin/compliance/rule/{rule.pk}/change/").content.decode()
        assert f'formaction="{preview_url}"' in change and 'id="rule-preview-change"' in change
        edited = rule_form(quiet_end="18:00", _preview="Preview this change")
        del edited["days"]  # the change form has no period field
        response = client.post(preview_url, edited)
        assert response.status_code == 200
        page = response.content.decode()
        assert "18:00" in page and 'id="preview-result"' in page  # the edit survived, and was run
        assert response.context["report"].totals.changed == 1
        assert rule.versions.count() == 1

    def test_marketer_cannot_edit_rules(self):
        client = login(staff_user("marketer", "Marketer"))
        rule = Rule.objects.get(key="quiet_hours_marketing_sms")
        assert client.get(f"/admin/compliance/rule/{rule.pk}/change/").status_code == 403
        assert client.post(f"/admin/compliance/rule/{rule.pk}/preview/", rule_form()).status_code == 403


@pytest.mark.django_db
def test_a_compliance_user_reads_the_decision_in_one_sentence_in_message_admin(marketing_template):
    [deferred, blocked] = decided_messages(marketing_template, [22, 12])
    Contact.objects.get(external_id="p-1")  # exists
    from hub.contacts.models import ConsentEntry

    ConsentEntry.objects.filter(contact__external_id="p-1").delete()
    blocked = Message.objects.create(
        notification=blocked.notification, channel="sms", category="marketing", to=blocked.to
    )
    changes = messages_decide(
        [blocked], contacts={blocked.id: blocked.notification.contact}, now=timezone.now()
    )
    messages_transition(changes, actor=Actor.system(), source="test")
    client = login(staff_user("officer", "Compliance"))
    page = client.get(f"/admin/messaging/message/{deferred.id}/change/").content.decode()
    assert "deferred by quiet_hours_marketing_sms v1: 22:" in page and "is outside 08:00\u201321:00" in page
    page = client.get(f"/admin/messaging/message/{blocked.id}/change/").content.decode()
    assert "blocked by marketing_consent v1: no marketing sms consent is recorded" in page
    listing = client.get("/admin/messaging/message/").content.decode()
    assert "blocked by marketing_consent v1" in listing
