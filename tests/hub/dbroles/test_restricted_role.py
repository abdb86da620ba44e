"""The role the hub runs as may add to the audit log and read it, and nothing more.

Run as that role (DATABASE_URL), with the schema owned by another (MIGRATE_DATABASE_URL), as
.ci/run does. Every way the issue found to rewrite the log is refused, and changes nothing.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from audit.models import AuditLeaf, AuditNode, AuditRecord, AuditTreeHead, AuditTreeState
from audit.sequencer import audit_sequence
from audit.services import Actor, audit_append
from audit.tasks import sequence_audit_log
from hub.dbroles.owner import roles_separated
from tests.audit.tamper import run_sql

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not roles_separated(),
        reason="the hub runs as the schema owner here: set MIGRATE_DATABASE_URL, as .ci/run does",
    ),
]

AUDIT_MODELS = (AuditRecord, AuditLeaf, AuditNode, AuditTreeState, AuditTreeHead)
AUDIT_TABLES = ("audit_auditrecord", "audit_auditcheckpoint", "audit_auditleaf", "audit_audittreehead")

# Each attack as the statements one session would run; %s is the audit table.
ATTACKS = {
    "update": ("UPDATE {t} SET created_at = created_at",),
    "delete": ("DELETE FROM {t}",),
    "truncate": ("TRUNCATE {t}",),
    "truncate with the test flag": ("SET LOCAL switchboard.audit_allow_truncate = 'on'", "TRUNCATE {t}"),
    "disable a trigger": ("ALTER TABLE {t} DISABLE TRIGGER {t}_refuse_update",),
    "disable all triggers": ("ALTER TABLE {t} DISABLE TRIGGER ALL",),
    "drop a trigger": ("DROP TRIGGER {t}_refuse_update ON {t}",),
    "skip triggers as a replica": ("SET LOCAL session_replication_role = replica", "DELETE FROM {t}"),
    "take ownership": ("ALTER TABLE {t} OWNER TO CURRENT_USER",),
    "add a column": ("ALTER TABLE {t} ADD COLUMN note text",),
    "grant itself more": ("GRANT UPDATE, DELETE ON {t} TO CURRENT_USER", "DELETE FROM {t}"),
    "drop the table": ("DROP TABLE {t} CASCADE",),
}


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in AUDIT_MODELS)


@pytest.fixture
def trail(db):
    """Records sequenced into the Merkle log, with a signed tree head."""
    for i in range(3):
        audit_append(actor=Actor.system(), action="test.fact", object_type="thing", object_id=i)
    sequence_audit_log()
    assert AuditLeaf.objects.count() == 3 and AuditTreeHead.objects.exists()
    return counts()


@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
def test_the_hub_role_cannot_rewrite_the_log(trail, table, attack):
    with pytest.raises(DatabaseError):
        run_sql(*(statement.format(t=table) for statement in ATTACKS[attack]))
    assert counts() == trail


def test_the_hub_role_appends_reads_and_sequences(trail):
    """Appending and the sequencer (which only inserts) work as the hub's role."""
    record = audit_append(actor=Actor.system(), action="test.more", object_type="thing", object_id=9)
    audit_sequence()
    assert AuditRecord.objects.get(seq=record.seq).action == "test.more"
    assert AuditLeaf.objects.filter(record_id=record.seq).exists()
