"""The audit trail in admin: read-only, the last checkpoint shown, a "verify chain" button
that names the first broken record; the checkpoint task copies the head."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.urls import reverse

from audit.models import AuditCheckpoint, AuditRecord
from audit.services import Actor, audit_append
from audit.tasks import write_audit_checkpoint
from tests.audit.tamper import tamper_sql

VERIFY_URL = reverse("admin:audit_auditrecord_verify")


def test_checkpoint_task_copies_the_head(db):
    record = audit_append(actor=Actor.system(), action="t", object_type="t", object_id=1)
    assert write_audit_checkpoint.delay().get() == record.seq
    assert AuditCheckpoint.objects.get().hash == record.hash


def test_verify_button_reports_ok_and_broken(client, staff_factory, transactional_db):
    for i in range(3):
        audit_append(actor=Actor.system(), action="t", object_type="t", object_id=i)
    write_audit_checkpoint()
    client.force_login(staff_factory("Compliance"))
    page = client.get(VERIFY_URL)
    assert page.status_code == 200 and b"record #3" in page.content  # the last checkpoint
    response = client.post(VERIFY_URL, follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Audit chain OK: 3 records verified."]
    tamper_sql("UPDATE audit_auditrecord SET object_id = 'x' WHERE seq = 2")
    response = client.post(VERIFY_URL, follow=True)
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("Audit chain BROKEN at record #2")


def test_records_cannot_be_changed_in_admin(client, staff_factory, db):
    record = audit_append(actor=Actor.system(), action="t", object_type="t", object_id=1)
    client.force_login(staff_factory("superuser"))
    client.post(reverse("admin:audit_auditrecord_change", args=[record.seq]), {"action": "rewritten"})
    assert AuditRecord.objects.get(seq=record.seq).action == "t"
    assert (
        client.post(reverse("admin:audit_auditrecord_delete", args=[record.seq]), {"post": "yes"}).status_code
        == 403
    )
    changelist = client.get(reverse("admin:audit_auditrecord_changelist"))
    assert b"Verify chain" in changelist.content and b"Last checkpoint" in changelist.content


def test_support_cannot_verify(client, staff_factory, db):
    client.force_login(staff_factory("Support"))
    assert client.post(VERIFY_URL).status_code == 403
