"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the audit tables (migrations 0003, 0004).

The hub's own role (tests/hub/dbroles) is refused before the trigger fires, for want of the
privilege; a role that has it, the owner included, is refused by the trigger.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit.models import AuditCheckpoint, AuditLeaf, AuditRecord, AuditTreeHead, AuditTreeState
from audit.sequencer import audit_sequence
from audit.services import Actor, audit_append
from hub.dbroles.owner import owner_connection
from tests.audit.tamper import run_sql

pytestmark = pytest.mark.postgres  # the append-only triggers exist in PostgreSQL only


def refused(operation: str) -> str:
    """What refusing ``operation`` says: the trigger's words, or no privilege at all."""
    return f"append-only: {operation}|permission denied"


@pytest.fixture
def record(db):
    return audit_append(actor=Actor.system(), action="test.fact", object_type="thing", object_id=1)


def test_update_is_refused(record):
    with pytest.raises(DatabaseError, match=refused("UPDATE")), transaction.atomic():
        AuditRecord.objects.filter(seq=record.seq).update(action="rewritten")
    assert AuditRecord.objects.get(seq=record.seq).action == "test.fact"


def test_delete_is_refused(record):
    with pytest.raises(DatabaseError, match=refused("DELETE")), transaction.atomic():
        AuditRecord.objects.filter(seq=record.seq).delete()
    assert AuditRecord.objects.filter(seq=record.seq).exists()


def test_truncate_is_refused(record):
    """Without the test-only session setting, even the table's owner cannot TRUNCATE."""
    with pytest.raises(DatabaseError, match=refused("TRUNCATE")):
        run_sql("SET LOCAL switchboard.audit_allow_truncate = 'off'", "TRUNCATE audit_auditrecord")
    assert AuditRecord.objects.filter(seq=record.seq).exists()


@pytest.mark.django_db(transaction=True)
def test_truncate_needs_table_ownership_even_with_the_setting():
    """The escape hatch for test flushes opens only for roles that could disable the trigger.
    Committed, and as the owner: it makes a role, and its TRUNCATE must not wait on our locks."""
    record = audit_append(actor=Actor.system(), action="test.fact", object_type="thing", object_id=1)
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS audit_test_writer")
        cursor.execute("CREATE ROLE audit_test_writer")
        cursor.execute("GRANT SELECT, INSERT, TRUNCATE ON audit_auditrecord TO audit_test_writer")
        try:
            cursor.execute("BEGIN")
            cursor.execute("SET LOCAL switchboard.audit_allow_truncate = 'on'")
            cursor.execute("SET LOCAL ROLE audit_test_writer")
            with pytest.raises(DatabaseError, match="append-only: TRUNCATE"):
                cursor.execute("TRUNCATE audit_auditrecord")
        finally:
            cursor.execute("ROLLBACK")
            cursor.execute("REVOKE ALL ON audit_auditrecord FROM audit_test_writer")
            cursor.execute("DROP ROLE audit_test_writer")
    assert AuditRecord.objects.filter(seq=record.seq).exists()


def test_checkpoints_are_append_only_too(db):
    checkpoint = AuditCheckpoint.objects.create(seq=0, hash="0" * 64, created_at=timezone.now())
    with pytest.raises(DatabaseError, match=refused("UPDATE")), transaction.atomic():
        AuditCheckpoint.objects.filter(id=checkpoint.id).update(seq=99)
    with pytest.raises(DatabaseError, match=refused("DELETE")), transaction.atomic():
        AuditCheckpoint.objects.filter(id=checkpoint.id).delete()


@pytest.mark.parametrize("model", [AuditLeaf, AuditTreeState, AuditTreeHead])
def test_the_merkle_log_tables_are_append_only_too(record, model):
    audit_sequence()
    AuditTreeHead.objects.create(tree_size=1, root_hash=b"x", note="n", created_at=timezone.now())
    with pytest.raises(DatabaseError, match=refused("UPDATE")), transaction.atomic():
        model.objects.update(created_at=timezone.now()) if model is not AuditLeaf else model.objects.update(
            leaf_hash=b""
        )
    with pytest.raises(DatabaseError, match=refused("DELETE")), transaction.atomic():
        model.objects.all().delete()
    with pytest.raises(DatabaseError, match=refused("TRUNCATE")):
        run_sql("SET LOCAL switchboard.audit_allow_truncate = 'off'", f"TRUNCATE {model._meta.db_table}")


@pytest.mark.django_db(transaction=True)
def test_flush_after_a_transactional_test_still_works():
    """Writes committed audit records; the teardown flush (TRUNCATE) must still succeed, and
    the next test starts with an empty trail (see test_trail_is_empty_after_flush)."""
    audit_append(actor=Actor.system(), action="test.committed", object_type="thing", object_id=1)
    assert AuditRecord.objects.filter(action="test.committed").exists()


@pytest.mark.django_db(transaction=True)
def test_trail_is_empty_after_flush():
    assert not AuditRecord.objects.filter(action="test.committed").exists()
