"""The audit trail is a gapless hash chain; any edit, gap or cut-off tail is found and named."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit.canonical import canonical_text_v1, jsonb_text
from audit.models import AuditChainHead, AuditCheckpoint, AuditRecord
from audit.selectors import audit_chain_verify
from audit.services import (
    GENESIS_HASH,
    Actor,
    AuditEntry,
    audit_append,
    audit_append_many,
    audit_checkpoint_write,
    canonical_hash,
    record_hash,
)
from tests.audit.tamper import tamper_sql


@pytest.fixture(params=[False, True], ids=["text-rows", "orm-rows"])
def verify(request):
    """Both ways of reading the trail (on PostgreSQL: text rows from a cursor, or ORM rows)."""
    return lambda: audit_chain_verify(through_orm=request.param)


@pytest.fixture
def chain(transactional_db):
    """Committed: tampering runs as the schema owner, on a connection of its own."""
    audit_append_many(AuditEntry(Actor.system(), "test.fact", "thing", str(i), {"n": i}) for i in range(5))
    return list(AuditRecord.objects.order_by("seq"))


def test_records_are_chained(chain):
    assert [r.seq for r in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert all(record_hash(r) == r.hash for r in chain)
    assert audit_chain_verify().ok


def test_appends_continue_the_chain(chain):
    record = audit_append(actor=Actor.user(7), action="x", object_type="thing", object_id=9)
    assert record.seq == 6 and record.prev_hash == chain[-1].hash
    assert audit_chain_verify().checked == 6


def test_payload_altered_by_hand_is_named(chain, verify):
    """The issue's bar: one row altered by hand (trigger disabled) fails verify_audit, named."""
    tamper_sql("UPDATE audit_auditrecord SET payload = %s WHERE seq = 3", ['{"n": 999}'])
    report = verify()
    assert (report.ok, report.broken_seq, report.checked) == (False, 3, 2)
    with pytest.raises(CommandError, match=r"BROKEN at record #3"):
        call_command("verify_audit")


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
def test_tricky_payloads_verify(db, payload, verify):
    """Nested, unicode, control characters and floats hash the same when the database
    rebuilds the canonical text (PostgreSQL) as when Python wrote it."""
    audit_append(
        actor=Actor.user(1), action="test.tricky", object_type="thing", object_id="x", payload=payload
    )
    assert verify().ok


@pytest.mark.parametrize("payload", TRICKY_PAYLOADS)
def test_jsonb_text_is_what_postgresql_prints(db, payload):
    if connection.vendor != "postgresql":
        pytest.skip("compares with PostgreSQL's own jsonb output")
    record = audit_append(actor=Actor.system(), action="t", object_type="t", object_id="t", payload=payload)
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload::text FROM audit_auditrecord WHERE seq = %s", [record.seq])
        (printed,) = cursor.fetchone()
    assert jsonb_text(record.payload) == printed


def test_records_hashed_in_the_v1_form_still_verify(transactional_db, verify):
    """Records written before the v2 canonical form keep verifying; editing one is still found."""
    created = timezone.now()
    prev = GENESIS_HASH
    rows = []
    for seq in (1, 2):
        fields: dict[str, Any] = {
            "seq": seq,
            "created_at": created,
            "actor_type": "system",
            "actor_id": "",
            "action": "legacy.fact",
            "object_type": "thing",
            "object_id": str(seq),
            "payload": {"k": seq, "nested": {"b": 1, "aa": 2}},
            "prev_hash": prev,
        }
        digest = canonical_hash(canonical_text_v1(**fields))
        rows.append(AuditRecord(**fields, hash=digest))
        prev = digest
    AuditRecord.objects.bulk_create(rows)
    AuditChainHead.objects.create(id=1, seq=2, hash=prev)
    audit_append(actor=Actor.system(), action="new.fact", object_type="thing", object_id="3")
    assert verify().checked == 3
    tamper_sql("UPDATE audit_auditrecord SET object_id = '99' WHERE seq = 2")
    assert verify().broken_seq == 2


def test_cut_off_tail_is_found_by_the_checkpoint(chain, verify):
    """Deleting the last records and rewinding the head is caught by the checkpoint copy."""
    checkpoint = audit_checkpoint_write()
    assert (checkpoint.seq, checkpoint.hash) == (5, chain[-1].hash)
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq >= 4")
    AuditChainHead.objects.filter(id=1).update(seq=3, hash=chain[2].hash)
    report = verify()
    assert (report.ok, report.broken_seq) == (False, 4)
    assert "cut short" in report.problem
    with pytest.raises(CommandError, match="#4"):
        call_command("verify_audit")


def test_checkpoint_file_outlives_a_wiped_checkpoint_table(chain, verify, settings, tmp_path):
    """With HUB_AUDIT_CHECKPOINT_FILE, cutting the tail, rewinding the head and deleting the
    checkpoint rows from the database is still found."""
    settings.HUB_AUDIT_CHECKPOINT_FILE = str(tmp_path / "checkpoints.jsonl")
    audit_checkpoint_write()
    assert '"seq": 5' in (tmp_path / "checkpoints.jsonl").read_text()
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq >= 4")
    tamper_sql("DELETE FROM audit_auditcheckpoint", table="audit_auditcheckpoint")
    AuditChainHead.objects.filter(id=1).update(seq=3, hash=chain[2].hash)
    report = verify()
    assert (report.broken_seq, "cut short" in report.problem) == (4, True)


def test_cut_off_tail_is_found_by_the_head(chain, verify):
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq = 5")
    assert verify().broken_seq == 5


def test_rewritten_tail_differs_from_its_checkpoint(chain, verify):
    """A tail re-chained by a forger no longer matches the hash the checkpoint kept."""
    audit_checkpoint_write()
    tamper_sql("UPDATE audit_auditrecord SET hash = %s WHERE seq = 5", ["f" * 64])
    assert verify().broken_seq == 5


def test_checkpoint_of_an_empty_trail(db):
    assert audit_checkpoint_write().seq == 0
    assert audit_chain_verify().ok
    assert AuditCheckpoint.objects.count() == 1


def test_verify_command_reports_ok(chain, capsys):
    call_command("verify_audit")
    assert "Audit chain OK: 5 records" in capsys.readouterr().out
