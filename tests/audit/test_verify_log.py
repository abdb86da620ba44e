"""verify_audit on the Merkle log: every tampering named in issue 15, point 5. The attacks below
need more than the hub's role may do (it may only INSERT and SELECT), so they run as the tables'
owner with the append-only triggers disabled (tests/audit/tamper.py); where the owner rewrites the
database consistently, the signed tree heads (in the table and in HUB_AUDIT_TREE_HEAD_FILE) find it."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.utils import timezone

from audit.heads import audit_tree_head_write
from audit.models import AuditLeaf, AuditRecord, AuditTreeHead
from audit.notes import Checkpoint, sign_note
from audit.sequencer import audit_sequence
from audit.services import Actor, AuditEntry, audit_append_many
from audit.verify import audit_log_verify
from tests.audit.tamper import tamper_sql

pytestmark = pytest.mark.django_db(transaction=True)


def append(n: int, tag: str) -> list[AuditRecord]:
    return audit_append_many(
        AuditEntry(Actor.system(), "test.fact", "thing", f"{tag}{i}", {"n": i}) for i in range(n)
    )


@pytest.fixture
def log(settings, tmp_path) -> list[AuditRecord]:
    """25 records in the log, signed heads at 20 and 25, also in HUB_AUDIT_TREE_HEAD_FILE."""
    settings.HUB_AUDIT_TREE_HEAD_FILE = str(tmp_path / "heads.jsonl")
    records = append(20, "a")
    audit_sequence()
    audit_tree_head_write()
    records += append(5, "b")
    audit_sequence()
    audit_tree_head_write()
    report = audit_log_verify()
    assert report.ok, report.problem
    assert (report.checked, report.heads, report.pending) == (25, 4, 0)
    return records


def leaf_of(record: AuditRecord) -> int:
    return AuditLeaf.objects.get(record_id=record.seq).leaf_index


def test_pending_records_are_counted_not_failed(log):
    append(2, "c")
    report = audit_log_verify()
    assert report.ok and report.pending == 2


def test_an_edited_record_is_named(log):
    target = log[7]
    tamper_sql("UPDATE audit_auditrecord SET payload = %s WHERE seq = %s", ['{"n": 70}', str(target.seq)])
    report = audit_log_verify()
    assert (report.record, report.leaf) == (target.seq, 7)
    assert "its content does not match its leaf" in report.problem


def test_an_edited_record_with_its_leaf_rewritten_is_found_by_the_heads(log):
    """The owner edits a record and recomputes its leaf, the stored states and subtree hashes
    cannot all be redone without also re-signing the heads."""
    from audit.canonical import canonical_text, record_fields
    from audit.merkle import leaf_hash

    target = log[3]
    tamper_sql("UPDATE audit_auditrecord SET object_id = 'forged' WHERE seq = %s", [str(target.seq)])
    forged = AuditRecord.objects.get(seq=target.seq)
    leaf = leaf_hash(canonical_text(**record_fields(forged)).encode())
    tamper_sql(
        "UPDATE audit_auditleaf SET leaf_hash = %s WHERE record_id = %s",
        [leaf, target.seq],
        table="audit_auditleaf",
    )
    tamper_sql("DELETE FROM audit_audittreestate", table="audit_audittreestate")
    report = audit_log_verify()
    assert not report.ok
    assert "does not match signed tree head" in report.problem
    assert "leaves 0..19" in report.problem


def test_a_record_deleted_from_the_middle_is_named(log):
    target = log[12]
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq = %s", [str(target.seq)])
    report = audit_log_verify()
    assert (report.record, report.leaf) == (target.seq, 12)
    assert "is missing" in report.problem


def test_a_record_deleted_with_its_leaf_is_found(log):
    target = log[12]
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq = %s", [str(target.seq)])
    tamper_sql("DELETE FROM audit_auditleaf WHERE record_id = %s", [str(target.seq)], table="audit_auditleaf")
    report = audit_log_verify()
    assert report.leaf == 12 and report.problem == "leaf 12 is missing"


@pytest.mark.postgres
def test_reordered_leaves_are_found(log):
    a, b = log[4], log[9]
    tamper_sql(
        "UPDATE audit_auditleaf SET record_id = CASE record_id WHEN %s THEN -1 ELSE record_id END",
        [str(a.seq)],
        table="audit_auditleaf",
    )
    tamper_sql(
        "UPDATE audit_auditleaf SET record_id = %s WHERE record_id = %s",
        [str(a.seq), str(b.seq)],
        table="audit_auditleaf",
    )
    tamper_sql(
        "UPDATE audit_auditleaf SET record_id = %s WHERE record_id = -1",
        [str(b.seq)],
        table="audit_auditleaf",
    )
    report = audit_log_verify()
    assert report.leaf == 4 and "does not match its leaf" in report.problem
    # Moving the leaf hashes along with the records still changes the tree under the heads.
    tamper_sql(
        "UPDATE audit_auditleaf l SET leaf_hash = m.leaf_hash FROM audit_auditleaf m "
        "WHERE l.leaf_index IN (4, 9) AND m.leaf_index = 13 - l.leaf_index",
        table="audit_auditleaf",
    )
    report = audit_log_verify()
    assert not report.ok and "was changed, removed or moved" in report.problem


def test_a_cut_tail_with_the_heads_rewound_is_found_by_the_head_file(log):
    """The owner deletes the last five records, their leaves, the tree states and heads of size
    25: the database alone now agrees with itself, the head file outside it does not."""
    first = str(log[20].seq)
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq >= %s", [first])
    tamper_sql("DELETE FROM audit_auditleaf WHERE record_id >= %s", [first], table="audit_auditleaf")
    tamper_sql("DELETE FROM audit_audittreestate WHERE tree_size > 20", table="audit_audittreestate")
    tamper_sql("DELETE FROM audit_audittreehead WHERE tree_size > 20", table="audit_audittreehead")
    report = audit_log_verify()
    assert not report.ok
    assert (
        "the log has 20 leaves but the signed tree head on line 2 of HUB_AUDIT_TREE_HEAD_FILE shows 25"
        in report.problem
    )


def test_a_rebuilt_log_fails_its_signatures_and_the_head_file(log, settings, tmp_path):
    """The owner empties every audit table and writes a new log, signed with a key of their own."""
    tamper_sql("DELETE FROM audit_auditrecord")
    tamper_sql("DELETE FROM audit_auditleaf", table="audit_auditleaf")
    tamper_sql("DELETE FROM audit_audittreestate", table="audit_audittreestate")
    tamper_sql("DELETE FROM audit_audittreehead", table="audit_audittreehead")
    own = tmp_path / "own.pem"
    own.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    real_key, real_file = settings.HUB_AUDIT_SIGNING_KEY_FILE, settings.HUB_AUDIT_TREE_HEAD_FILE
    settings.HUB_AUDIT_SIGNING_KEY_FILE, settings.HUB_AUDIT_TREE_HEAD_FILE = str(own), ""
    append(25, "z")
    audit_sequence()
    audit_tree_head_write()
    settings.HUB_AUDIT_SIGNING_KEY_FILE = real_key
    report = audit_log_verify()
    assert not report.ok and "is not signed by the log's key" in report.problem
    # Even with the forged heads gone, the heads outside the database no longer match.
    tamper_sql("DELETE FROM audit_audittreehead", table="audit_audittreehead")
    settings.HUB_AUDIT_TREE_HEAD_FILE = real_file
    report = audit_log_verify()
    assert (
        not report.ok
        and "does not match the signed tree head on line 1 of HUB_AUDIT_TREE_HEAD_FILE" in report.problem
    )


def test_a_forged_tree_head_is_found(log, settings):
    """Inserting a head needs only the hub's role; without the key it cannot be signed."""
    other = Ed25519PrivateKey.generate()
    text = Checkpoint(settings.HUB_AUDIT_LOG_ORIGIN, 25, b"\x07" * 32).text()
    AuditTreeHead.objects.create(
        tree_size=25,
        root_hash=b"\x07" * 32,
        note=sign_note(text, settings.HUB_AUDIT_LOG_ORIGIN, other),
        created_at=timezone.now(),
    )
    report = audit_log_verify()
    assert not report.ok and "is not signed by the log's key" in report.problem


def test_a_signed_head_copied_onto_other_columns_is_found(log):
    head = AuditTreeHead.objects.order_by("id").first()
    assert head is not None
    AuditTreeHead.objects.create(
        tree_size=25, root_hash=bytes(head.root_hash), note=head.note, created_at=timezone.now()
    )
    report = audit_log_verify()
    assert not report.ok and "its columns differ from its signed note" in report.problem


def test_a_leaf_injected_by_the_hub_role_is_found(log):
    """Inserting needs only the hub's role (as CI runs this): a leaf for a new record, with a
    hash of the attacker's choosing, placed before the sequencer got to it."""
    (record,) = append(1, "c")
    AuditLeaf.objects.create(leaf_index=25, record_id=record.seq, leaf_hash=b"\x00" * 32)
    audit_sequence()
    report = audit_log_verify()
    assert not report.ok and report.record == record.seq, report


def test_a_leaf_skipping_an_index_is_found(log):
    """The hub's role inserts a leaf past the end, leaving a gap before it."""
    (record,) = append(1, "d")
    AuditLeaf.objects.create(leaf_index=40, record_id=record.seq, leaf_hash=b"\x00" * 32)
    report = audit_log_verify()
    assert not report.ok, report


@pytest.mark.parametrize("processes", [1, 2])
def test_the_contents_and_the_tree_are_checked_apart_and_the_lowest_leaf_named(log, processes):
    """The contents (each leaf against its record, in record order) and the tree (in leaf
    order) are two checks, the first in a process of its own with ``processes=2`` (as
    verify_audit runs it); whichever problem lies at the lower leaf is named, as a walk leaf by
    leaf would meet it first."""
    edited, gone = log[15], log[12]
    tamper_sql("UPDATE audit_auditrecord SET payload = %s WHERE seq = %s", ['{"n": 150}', str(edited.seq)])
    report = audit_log_verify(processes=processes)
    assert (report.record, report.leaf) == (edited.seq, 15) and "does not match its leaf" in report.problem
    # A leaf missing before it comes first...
    tamper_sql("DELETE FROM audit_auditleaf WHERE record_id = %s", [str(gone.seq)], table="audit_auditleaf")
    report = audit_log_verify(processes=processes)
    assert report.leaf == 12 and report.problem == "leaf 12 is missing"
    # ...and a record missing before that comes first again.
    early = log[5]
    tamper_sql("DELETE FROM audit_auditrecord WHERE seq = %s", [str(early.seq)])
    report = audit_log_verify(processes=processes)
    assert (report.record, report.leaf) == (early.seq, 5) and "is missing" in report.problem
    # A check stopped by its problem leaves no reading thread behind.
    assert not [t for t in threading.enumerate() if t.name.startswith("audit-verify-")]


def test_a_second_process_sees_the_same_log_and_counts_the_pending(log):
    append(3, "p")
    report = audit_log_verify(processes=2)
    assert report.ok and (report.checked, report.heads, report.pending) == (25, 4, 3)
