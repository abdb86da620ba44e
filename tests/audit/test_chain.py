"""Records written before the Merkle log form a hash chain: it is still checked (``verify_audit
--legacy-chain``), and those records become the first leaves of the log (migration 0004)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit.canonical import canonical_text, canonical_text_v1, jsonb_text, record_fields
from audit.merkle import leaf_hash
from audit.models import AuditCheckpoint, AuditLeaf, AuditRecord
from audit.selectors import audit_chain_verify
from audit.sequencer import audit_sequence
from audit.services import (
    GENESIS_HASH,
    Actor,
    audit_append,
    canonical_hash,
    record_hash,
)
from audit.verify import audit_log_verify
from hub.dbroles.owner import owner_connection
from tests.audit.tamper import tamper_sql


@pytest.fixture(params=[False, True], ids=["text-rows", "orm-rows"])
def verify(request):
    """Both ways of reading the trail (on PostgreSQL: text rows from a cursor, or ORM rows)."""
    return lambda: audit_chain_verify(through_orm=request.param)


def legacy_chain(count: int, *, v1: bool = False) -> list[AuditRecord]:
    """Records as the hash chain wrote them before migration 0004 (numbered 1.., each naming
    its predecessor's hash), with the record sequence moved past them as the migration does."""
    created = timezone.now()
    prev = GENESIS_HASH
    rows = []
    for seq in range(1, count + 1):
        fields: dict[str, Any] = {
            "seq": seq,
            "created_at": created,
            "actor_type": "system",
            "actor_id": "",
            "action": "legacy.fact",
            "object_type": "thing",
            "object_id": str(seq),
            "payload": {"n": seq, "nested": {"b": 1, "aa": 2}},
            "prev_hash": prev,
        }
        digest = canonical_hash((canonical_text_v1 if v1 else canonical_text)(**fields))
        rows.append(AuditRecord(**fields, hash=digest))
        prev = digest
    AuditRecord.objects.bulk_create(rows)
    if connection.vendor == "postgresql":
        # As the owner: moving a sequence is more than the hub's role may do.
        with owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute(
                "SELECT setval('audit_record_seq', GREATEST(nextval('audit_record_seq'), %s))", [count + 1]
            )
    return list(AuditRecord.objects.order_by("seq"))


@pytest.fixture
def chain(transactional_db):
    """Committed: the tampering below runs as the schema owner, on a connection of its own."""
    return legacy_chain(5)


def test_the_chain_verifies(chain):
    assert chain[0].prev_hash == GENESIS_HASH
    assert all(record_hash(r) == r.hash for r in chain)
    report = audit_chain_verify()
    assert (report.ok, report.checked) == (True, 5)


def test_chained_records_become_the_first_leaves_and_the_log_verifies(chain):
    """Point 8: the old records, in their order, are the tree's first leaves; new ones follow."""
    new = audit_append(actor=Actor.system(), action="new.fact", object_type="thing", object_id="6")
    assert new.prev_hash == "" and new.seq > 5
    audit_sequence()
    leaves = list(AuditLeaf.objects.order_by("leaf_index"))
    assert [leaf.record_id for leaf in leaves] == [1, 2, 3, 4, 5, new.seq]
    assert bytes(leaves[0].leaf_hash) == leaf_hash(canonical_text(**record_fields(chain[0])).encode())
    assert audit_log_verify().ok
    assert audit_chain_verify().checked == 5  # the chain check covers the chained records only


def test_payload_altered_by_hand_is_named(chain, verify):
    """The issue's bar: one row altered by hand (trigger disabled) fails verify_audit, named."""
    tamper_sql("UPDATE audit_auditrecord SET payload = %s WHERE seq = 3", ['{"n": 999}'])
    report = verify()
    assert (report.ok, report.broken_seq, report.checked) == (False, 3, 2)
    with pytest.raises(CommandError, match=r"BROKEN at record #3"):
        call_command("verify_audit", "--legacy-chain")


def test_actor_altered_by_hand_is_named(chain, verify):
    tamper_sql("UPDATE audit_auditrecord SET actor_id = 'someone-else' WHERE seq = 4")
    report = verify()
    assert (report.broken_seq, report.problem) == (4, "its content does not match its hash")


def test_action_altered_by_hand_is_named(chain, verify):
    tamper_sql("UPDATE audit_auditrecord SET action = 'nothing.happened' WHERE seq = 2")
    assert verify().broken_seq == 2


def test_missing_record_is_named(chain, verify):
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq = 2")
    report = verify()
    assert (report.broken_seq, report.problem) == (2, "record #2 is missing")


def test_rehashed_forgery_is_caught_by_the_next_record(chain, verify):
    """A forger who recomputes the altered record's hash still breaks the link to the next one."""
    forged = AuditRecord.objects.get(seq=2)
    forged.payload = {"n": 77}
    tamper_sql(
        "UPDATE audit_auditrecord SET payload = %s, hash = %s WHERE seq = 2",
        ['{"n": 77}', record_hash(forged)],
    )
    assert verify().broken_seq == 3


TRICKY_PAYLOADS = [
    {"b": 1, "aa": 2, "a": [1, 2.5, None, True, False], "é": "ünïcødé ✓", "ab": {"zz": {}, "y": []}},
    {"quote": 'say "hi"\\ / back', "ctl": "tab\tnew\nline\x01\x1f\x7f", "big": 10**20, "neg": -3},
    {"floats": [0.1, 1.0, 1e20, 1.5e-07, -0.0, 123456.789], "emoji": "\U0001f600", "": "empty key"},
]


@pytest.mark.parametrize("payload", TRICKY_PAYLOADS)
def test_tricky_payloads_verify(db, payload):
    """Nested, unicode, control characters and floats hash the same when the database
    rebuilds the canonical text (PostgreSQL) as when Python wrote it."""
    record = audit_append(
        actor=Actor.user(1), action="test.tricky", object_type="thing", object_id="x", payload=payload
    )
    assert record_hash(AuditRecord.objects.get(seq=record.seq)) == record.hash
    audit_sequence()
    assert audit_log_verify().ok


@pytest.mark.postgres  # compares with PostgreSQL's own jsonb output
@pytest.mark.parametrize("payload", TRICKY_PAYLOADS)
def test_jsonb_text_is_what_postgresql_prints(db, payload):
    record = audit_append(actor=Actor.system(), action="t", object_type="t", object_id="t", payload=payload)
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload::text FROM audit_auditrecord WHERE seq = %s", [record.seq])
        (printed,) = cursor.fetchone()
    assert jsonb_text(record.payload) == printed


def test_records_hashed_in_the_v1_form_still_verify(transactional_db, verify):
    """Records written before the v2 canonical form keep verifying; editing one is still found."""
    legacy_chain(2, v1=True)
    assert verify().checked == 2
    tamper_sql("UPDATE audit_auditrecord SET object_id = '99' WHERE seq = 2")
    assert verify().broken_seq == 2


def test_cut_off_tail_is_found_by_an_old_checkpoint(chain, verify, settings, tmp_path):
    """Checkpoints of the chain (in the table, or in HUB_AUDIT_CHECKPOINT_FILE) still find a tail
    cut off the chained records."""
    AuditCheckpoint.objects.create(seq=5, hash=chain[-1].hash, created_at=timezone.now())
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq >= 4")
    report = verify()
    assert (report.ok, report.broken_seq, "cut short" in report.problem) == (False, 4, True)
    tamper_sql("DELETE FROM audit_auditcheckpoint", table="audit_auditcheckpoint")
    path = tmp_path / "checkpoints.jsonl"
    path.write_text(f'{{"seq": 5, "hash": "{chain[-1].hash}", "at": "2026-01-01T00:00:00+00:00"}}\n')
    settings.HUB_AUDIT_CHECKPOINT_FILE = str(path)
    assert verify().broken_seq == 4


def test_rewritten_tail_differs_from_its_checkpoint(chain, verify):
    """A tail re-chained by a forger no longer matches the hash the checkpoint kept."""
    AuditCheckpoint.objects.create(seq=5, hash=chain[-1].hash, created_at=timezone.now())
    tamper_sql("UPDATE audit_auditrecord SET hash = %s WHERE seq = 5", ["f" * 64])
    assert verify().broken_seq == 5


def test_legacy_chain_command(chain, capsys):
    call_command("verify_audit", "--legacy-chain")
    assert "Audit chain OK: 5 chained records" in capsys.readouterr().out
    tamper_sql("UPDATE audit_auditrecord SET action = 'x' WHERE seq = 3")
    with pytest.raises(CommandError, match=r"BROKEN at record #3"):
        call_command("verify_audit", "--legacy-chain")
