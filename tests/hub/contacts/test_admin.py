"""Suppressions in admin: compliance adds them (validated, audited); lifting needs the
Compliance group and is audited; nobody edits or deletes one."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from audit.digests import address_digest
from audit.models import AuditRecord
from audit.services import Actor
from hub.contacts.models import Suppression
from hub.contacts.services import suppression_add
from tests.factories import staff_user

URL = "/admin/contacts/suppression/"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_compliance_adds_a_suppression_with_a_normalised_address():
    client = login(staff_user("officer", "Compliance"))
    response = client.post(
        f"{URL}add/",
        {"channel": "sms", "address": "+44 7911 123456", "reason": "manual", "note": "asked by phone"},
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    suppression = Suppression.objects.get()
    assert suppression.address == "+447911123456" and suppression.address_hash == address_digest(
        "+447911123456"
    )
    assert AuditRecord.objects.filter(action="suppression.added", actor_type="user").exists()


@pytest.mark.django_db
def test_a_bad_address_is_a_form_error():
    client = login(staff_user("officer", "Compliance"))
    response = client.post(f"{URL}add/", {"channel": "email", "address": "nope", "reason": "manual"})
    assert response.status_code == 200 and "not a valid email address" in response.content.decode()
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_lifting_needs_the_compliance_group_and_is_audited():
    suppression = suppression_add(
        channel="email", address="ada@example.com", reason="complaint", actor=Actor.system()
    )
    action = {"action": "lift_selected", ACTION_CHECKBOX_NAME: [suppression.pk]}

    support = login(staff_user("support", "Support"))
    assert support.post(URL, action).status_code == 403  # cannot even see suppressions
    operator = staff_user("viewer", "Support")
    from django.contrib.auth.models import Permission

    operator.user_permissions.add(Permission.objects.get(codename="view_suppression"))
    viewer = login(operator)
    viewer.post(URL, action)
    suppression.refresh_from_db()
    assert suppression.lifted_at is None  # the action is not offered without the permission

    officer = login(staff_user("officer", "Compliance"))
    response = officer.post(URL, action)
    assert response.status_code == 302
    suppression.refresh_from_db()
    assert suppression.lifted_at is not None
    record = AuditRecord.objects.get(action="suppression.lifted")
    assert record.actor_type == "user" and "ada@example.com" not in str(record.payload)


@pytest.mark.django_db
def test_suppressions_are_never_edited_or_deleted_in_admin():
    suppression = suppression_add(
        channel="email", address="ada@example.com", reason="complaint", actor=Actor.system()
    )
    client = login(staff_user("root", superuser=True))
    page = client.get(f"{URL}{suppression.pk}/change/")
    assert page.status_code == 200 and 'name="address"' not in page.content.decode()
    assert client.post(f"{URL}{suppression.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Suppression.objects.filter(pk=suppression.pk).exists()


@pytest.mark.django_db
def test_compliance_can_erase_a_contact_from_admin_and_support_cannot(contact):
    from hub.contacts.models import Contact

    action = {"action": "erase_selected", ACTION_CHECKBOX_NAME: [contact.pk]}
    support = login(staff_user("support", "Support"))
    support.post("/admin/contacts/contact/", action)
    assert Contact.objects.filter(pk=contact.pk).exists()
    officer = login(staff_user("officer", "Compliance"))
    assert officer.post("/admin/contacts/contact/", action).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Suppression.objects.filter(reason="erasure", address="").count() == 2
    assert AuditRecord.objects.filter(action="contact.erased", actor_type="user").exists()


@pytest.mark.django_db
def test_not_even_a_superuser_deletes_or_edits_a_contact_in_admin(contact, consent_factory):
    """A contact leaves only by erasure: a plain delete would cascade away its consent ledger
    and leave its addresses in messages, with no audit record."""
    from hub.contacts.models import ConsentEntry, Contact

    consent_factory(contact, "email")
    root = login(staff_user("root", superuser=True))
    page = f"/admin/contacts/contact/{contact.pk}"
    assert root.post(f"{page}/delete/", {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", ACTION_CHECKBOX_NAME: [contact.pk], "post": "yes"}
    root.post("/admin/contacts/contact/", bulk)
    assert root.post(f"{page}/change/", {"external_id": "changed", "email": ""}).status_code == 403
    assert root.post("/admin/contacts/contact/add/", {"external_id": "new"}).status_code == 403
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["cust-1"]
    assert ConsentEntry.objects.filter(contact=contact).count() == 1
