"""The audit log in admin: read-only, the latest signed head, the pending count and the public
key shown, a "verify log" button that names the first broken record; the key is also served."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.urls import reverse

from audit.heads import audit_verifier_key
from audit.models import AuditRecord
from audit.services import Actor, audit_append
from audit.tasks import sequence_audit_log
from tests.audit.tamper import tamper_sql

VERIFY_URL = reverse("admin:audit_auditrecord_verify")


def test_verify_button_reports_ok_and_broken(client, staff_factory, transactional_db):
    # transactional: the tampering below runs as the owner, on its own connection
    records = [audit_append(actor=Actor.system(), action="t", object_type="t", object_id=i) for i in range(3)]
    sequence_audit_log()
    audit_append(actor=Actor.system(), action="t", object_type="t", object_id="late")
    client.force_login(staff_factory("Compliance"))
    page = client.get(VERIFY_URL)
    assert page.status_code == 200
    assert b"Latest signed tree head:\n3 records" in page.content and b"1 record pending" in page.content
    assert audit_verifier_key().encode() in page.content
    response = client.post(VERIFY_URL, follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Audit log OK: 3 records in the tree and 1 signed tree heads verified."
    ]
    tamper_sql("UPDATE audit_auditrecord SET object_id = 'x' WHERE seq = %s", [str(records[1].seq)])
    response = client.post(VERIFY_URL, follow=True)
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith(f"Audit log BROKEN at record #{records[1].seq}")


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
    assert b"Verify log" in changelist.content and b"Latest signed tree head" in changelist.content


def test_support_cannot_verify(client, staff_factory, db):
    client.force_login(staff_factory("Support"))
    assert client.post(VERIFY_URL).status_code == 403


def test_the_public_key_is_served(client, db):
    response = client.get("/.well-known/switchboard-audit-key")
    assert response.status_code == 200
    first, *pem = response.content.decode().splitlines()
    assert first == audit_verifier_key() and pem[0] == "-----BEGIN PUBLIC KEY-----"


def test_a_record_page_shows_its_inclusion_proof(client, staff_factory, db):
    record = audit_append(actor=Actor.system(), action="t", object_type="t", object_id=1)
    client.force_login(staff_factory("Compliance"))
    url = reverse("admin:audit_auditrecord_change", args=[record.seq])
    assert b"Pending: not yet sequenced" in client.get(url).content
    audit_append(actor=Actor.system(), action="t", object_type="t", object_id=2)
    sequence_audit_log()
    page = client.get(url).content.decode()
    assert "Leaf 0 of the tree of 2 signed at" in page


def test_a_record_page_shows_its_details_as_labelled_rows_not_json(client, staff_factory, db):
    """Issue 20 point 5: audit details were a JSON dump."""
    record = audit_append(
        actor=Actor.system(),
        action="apikey.changed",
        object_type="apikey",
        object_id=7,
        payload={"before": {"scopes": ["send"], "daily_quota": None}, "after": {"note": "<b>x</b>"}},
    )
    client.force_login(staff_factory("Compliance"))
    page = client.get(reverse("admin:audit_auditrecord_change", args=[record.seq])).content.decode()
    assert '<th scope="row" style="width: 12em">Before → Scopes</th><td>send</td>' in page
    assert '<th scope="row" style="width: 12em">Before → Daily quota</th><td>—</td>' in page
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td>" in page  # escaped
    assert "{&quot;before&quot;" not in page
    assert "<label>Payload:</label>" not in page  # the raw JSON, whatever its key order


def test_the_list_shows_actor_and_object_in_one_column_each_with_long_ids_shortened(
    client, staff_factory, db
) -> None:
    """The list's seven columns and 36-character object ids overflowed 1,280 px, each id wrapping
    over four lines (seen on the screenshots): a long id is shortened, whole in its title."""
    uuid = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    audit_append(actor=Actor.system(), action="message.accepted", object_type="message", object_id=uuid)
    client.force_login(staff_factory("Compliance"))
    page = client.get(reverse("admin:audit_auditrecord_changelist")).content.decode()
    assert f'<span class="audit-object" title="{uuid}">message 0193a1b2…4a5b</span>' in page
    assert "column-object_id" not in page and "column-actor_id" not in page
    found = client.get(reverse("admin:audit_auditrecord_changelist"), {"q": uuid}).content.decode()
    assert "0193a1b2…4a5b" in found  # still found by its whole id
