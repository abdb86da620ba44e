"""Changes to staff users and groups in admin are audited by explicit calls: who, what,
before and after; never the password hash, the email only as a digest."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditRecord


def test_adding_a_user_to_a_group_is_audited(client, staff_factory, db):
    admin_user = staff_factory("superuser")
    target = staff_factory(None, username="newcomer")
    client.force_login(admin_user)
    compliance = Group.objects.get(name="Compliance")
    response = client.post(
        reverse("admin:auth_user_change", args=[target.pk]),
        {
            "username": "newcomer", "email": "new@example.com", "is_active": "on", "is_staff": "on",
            "groups": [compliance.pk], "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    record = AuditRecord.objects.get(action="user.changed", object_id=str(target.pk))
    assert record.actor_id == str(admin_user.pk)
    assert record.payload["before"]["groups"] == [] and record.payload["after"]["groups"] == ["Compliance"]
    assert "new@example.com" not in str(record.payload)
    assert "email_digest" in record.payload["changed"]


def test_creating_and_deleting_a_group_is_audited(client, staff_factory, db):
    client.force_login(staff_factory("superuser"))
    client.post(reverse("admin:auth_group_add"), {"name": "Auditors"})
    group = Group.objects.get(name="Auditors")
    created = AuditRecord.objects.get(action="group.created")
    assert created.payload["after"] == {"name": "Auditors", "permissions": []}
    client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})
    deleted = AuditRecord.objects.get(action="group.deleted")
    assert deleted.payload["before"]["name"] == "Auditors" and deleted.object_id == str(group.pk)


def test_deleting_users_in_bulk_audits_each(client, staff_factory, db):
    client.force_login(staff_factory("superuser"))
    users = [staff_factory(None, username=f"temp-{i}") for i in range(2)]
    client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [u.pk for u in users], "post": "yes"},
    )
    assert not get_user_model().objects.filter(username__startswith="temp-").exists()
    assert set(AuditRecord.objects.filter(action="user.deleted").values_list("object_id", flat=True)) == {
        str(u.pk) for u in users
    }
