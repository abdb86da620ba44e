"""'Send a test to me' reaches only an address the staff member proved is theirs (a one-time
code sent to it), is rate limited per user, and is audited. Through the real admin views."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from hub.messaging.models import Notification
from hub.providers.models import SandboxOutboxEntry
from templates_app.models import StaffAddress
from tests.templates_app.admin.conftest import sent_code, staff

PHONE = "+447911123456"


def send_url(version):
    return reverse("admin:templates_app_templateversion_test_send", args=[version.pk])


def add_address(client, channel, address):
    """Add an address in admin; returns the response and the code that was sent to it."""
    response = client.post(
        reverse("admin:templates_app_staffaddress_add"), {"channel": channel, "address": address}
    )
    return response, sent_code(address)


def verify(client, address, code):
    return client.post(reverse("admin:templates_app_staffaddress_verify", args=[address.pk]), {"code": code})


@pytest.fixture
def verified_phone(client, marketer):
    client.force_login(marketer)
    _, code = add_address(client, "sms", PHONE)
    address = StaffAddress.objects.get(user=marketer, address=PHONE)
    assert verify(client, address, code).status_code == 302
    address.refresh_from_db()
    return address


def test_a_test_send_to_any_phone_typed_in_is_refused(client, marketer, draft):
    client.force_login(marketer)
    response = client.post(send_url(draft), {"channels": ["sms"], "phone": PHONE})
    assert response.status_code == 200
    assert not Notification.objects.exists()


def test_an_unverified_address_is_refused_with_a_form_error(client, marketer, draft):
    client.force_login(marketer)
    response, code = add_address(client, "sms", PHONE)
    assert response.status_code == 302 and code
    address = StaffAddress.objects.get(user=marketer)
    assert address.verified_at is None
    response = client.post(send_url(draft), {"addresses": [address.pk]})
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not Notification.objects.exists()


def test_the_code_is_sent_directly_and_audited_without_the_address(client, marketer):
    client.force_login(marketer)
    add_address(client, "sms", PHONE)
    (record,) = AuditRecord.objects.filter(action="staff_address.code_sent")
    assert record.actor_id == str(marketer.pk) and PHONE not in str(record.payload)
    assert not Notification.objects.exists()  # not a customer message: no notification row


def test_a_wrong_code_is_refused(client, marketer):
    client.force_login(marketer)
    _, code = add_address(client, "sms", PHONE)
    address = StaffAddress.objects.get(user=marketer)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = verify(client, address, wrong)
    assert response.status_code == 200 and b"not the code" in response.content
    address.refresh_from_db()
    assert address.verified_at is None


def test_an_expired_code_is_refused(client, marketer):
    client.force_login(marketer)
    _, code = add_address(client, "sms", PHONE)
    address = StaffAddress.objects.get(user=marketer)
    StaffAddress.objects.filter(pk=address.pk).update(code_sent_at=timezone.now() - timedelta(minutes=11))
    response = verify(client, address, code)
    assert response.status_code == 200 and b"expired" in response.content
    address.refresh_from_db()
    assert address.verified_at is None


def test_after_five_wrong_codes_even_the_right_one_is_refused(client, marketer):
    client.force_login(marketer)
    _, code = add_address(client, "sms", PHONE)
    address = StaffAddress.objects.get(user=marketer)
    for _ in range(5):
        verify(client, address, "000000" if code != "000000" else "111111")
    response = verify(client, address, code)
    assert response.status_code == 200 and b"Too many" in response.content
    address.refresh_from_db()
    assert address.verified_at is None


def test_a_verified_address_gets_the_test_and_it_is_audited(client, marketer, draft, verified_phone):
    assert verified_phone.verified_at is not None
    assert AuditRecord.objects.filter(action="staff_address.verified", actor_id=str(marketer.pk)).exists()
    response = client.post(send_url(draft), {"addresses": [verified_phone.pk]})
    assert response.status_code == 302, response.content
    notification = Notification.objects.get()
    assert notification.to == {"phone": PHONE} and notification.reference.startswith("template-test:")
    assert notification.template_version == draft and notification.template_approval is None
    (record,) = AuditRecord.objects.filter(action="template.version_test_sent")
    assert record.actor_id == str(marketer.pk) and record.object_id == str(draft.pk)
    assert record.payload["notification"] == str(notification.id) and record.payload["channels"] == ["sms"]
    assert PHONE not in str(record.payload)


def test_someone_elses_verified_address_cannot_be_used(client, marketer, draft, verified_phone):
    other = staff("otto", "Marketer")
    client.force_login(other)
    response = client.post(send_url(draft), {"addresses": [verified_phone.pk]})
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not Notification.objects.exists()


def test_test_sends_are_rate_limited_per_user(client, marketer, draft, verified_phone, settings):
    settings.TEMPLATES_TEST_SENDS_PER_HOUR = 2
    for _ in range(2):
        assert client.post(send_url(draft), {"addresses": [verified_phone.pk]}).status_code == 302
    response = client.post(send_url(draft), {"addresses": [verified_phone.pk]})
    assert response.status_code == 200 and b"Too many test sends" in response.content
    assert Notification.objects.count() == 2
    assert AuditRecord.objects.filter(action="template.version_test_sent").count() == 2


def test_addresses_list_shows_only_your_own(marketer, verified_phone):
    other = Client()
    other.force_login(staff("otto", "Marketer"))
    page = other.get(reverse("admin:templates_app_staffaddress_changelist"))
    assert page.status_code == 200 and PHONE.encode() not in page.content


def test_email_and_sms_together_each_to_a_verified_address(client, marketer, draft, verified_phone):
    _, code = add_address(client, "email", "mara@example.com")
    verify(client, StaffAddress.objects.get(user=marketer, channel="email"), code)
    addresses = list(StaffAddress.objects.filter(user=marketer).values_list("pk", flat=True))
    response = client.post(send_url(draft), {"addresses": addresses})
    assert response.status_code == 302, response.content
    notification = Notification.objects.get()
    assert notification.to == {"email": "mara@example.com", "phone": PHONE}
    assert notification.data == {"name": "Ada"}
    assert {m.channel for m in notification.messages.all()} == {"email", "sms"}


def test_a_bad_phone_is_refused_when_added(client, marketer):
    client.force_login(marketer)
    response, code = add_address(client, "sms", "12")
    assert response.status_code == 200 and b"E.164" in response.content and not code
    assert not StaffAddress.objects.exists()


def test_codes_are_rate_limited_per_user(client, marketer, settings):
    settings.TEMPLATES_STAFF_CODES_PER_HOUR = 2
    client.force_login(marketer)
    for _ in range(2):
        assert add_address(client, "sms", PHONE)[0].status_code == 302
    response, _ = add_address(client, "sms", "+447911123457")
    assert response.status_code == 200 and b"codes an hour" in response.content
    assert not SandboxOutboxEntry.objects.filter(to="+447911123457").exists()


# --- Issue 20: the test send reports what really happened -----------------------------------


@pytest.fixture
def marketing_draft(marketer):
    from audit.services import Actor
    from templates_app.services import template_create, template_draft_create
    from tests.templates_app.admin.conftest import NAME, SMS

    template = template_create(
        key="spring.offer", name="Spring offer", category="marketing", actor=Actor.user(marketer.pk)
    )
    sms = {**SMS, "text": "Hi {{ name }}, 20% off. Reply STOP to opt out."}
    return template_draft_create(template=template, author=marketer, variants=[sms], variables=[NAME])


def test_a_blocked_test_send_says_blocked_and_why_not_test_sent(
    client, marketer, marketing_draft, verified_phone
):
    """The "Why" example: "Send a test to me" showed a green "Test sent" while the message was
    blocked (no_consent: the marketer's own number has no marketing consent)."""
    response = client.post(send_url(marketing_draft), {"addresses": [verified_phone.pk]}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Test sent" not in page
    assert "Nothing was sent: sms blocked (No consent)." in page
    assert 'data-status="blocked"' in page and "No consent" in page
    assert "no marketing sms consent is recorded" in page  # the decision's sentence, in words
    # The text is read in Python: a JSON key's __contains is containment (equality for a string)
    # on PostgreSQL and unsupported on SQLite, not a substring test.
    assert not any(
        "20% off" in e.content.get("text", "") for e in SandboxOutboxEntry.objects.filter(to=PHONE)
    )


def test_test_sends_are_never_counted_in_the_reports_rollups(
    client, marketer, marketing_draft, draft, verified_phone
):
    from hub.messaging.models import DailyRollup, DecisionRollup
    from hub.messaging.rollups import rollups_rebuild

    client.post(send_url(marketing_draft), {"addresses": [verified_phone.pk]})  # blocked
    client.post(send_url(draft), {"addresses": [verified_phone.pk]})  # on its way
    assert not DecisionRollup.objects.exists() and not DailyRollup.objects.exists()
    rollups_rebuild()
    assert not DecisionRollup.objects.exists() and not DailyRollup.objects.exists()


def test_an_allowed_test_send_says_it_is_on_its_way(client, marketer, draft, verified_phone):
    response = client.post(send_url(draft), {"addresses": [verified_phone.pk]}, follow=True)
    page = response.content.decode()
    assert 'data-status="blocked"' not in page
    assert "The test is on its way: sms" in page


def test_only_your_own_test_result_can_be_read(client, marketer, marketing_draft, verified_phone):
    response = client.post(send_url(marketing_draft), {"addresses": [verified_phone.pk]})
    result_url = response["Location"]
    other = Client()
    other.force_login(staff("otto", "Marketer"))
    assert other.get(result_url).status_code == 403
    assert client.get(result_url).status_code == 200
