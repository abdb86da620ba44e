"""Records commit with their fact and share no lock; the sequencer puts committed ones into the
Merkle log afterwards, in batches, once each, whatever order their transactions commit in."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from audit.canonical import canonical_text, record_fields
from audit.merkle import leaf_hash, root_of
from audit.models import AuditLeaf, AuditNode, AuditRecord, AuditTreeState
from audit.sequencer import (
    _PENDING,
    _PENDING_UNTRACKED,
    _PLAN,
    SEQUENCER_LOCK,
    SequencerRun,
    audit_leaves_append,
    audit_pending_count,
    audit_sequence,
)
from audit.services import Actor, AuditEntry, audit_append, audit_append_many
from audit.verify import audit_log_verify

pytestmark = pytest.mark.django_db(transaction=True)


def append(n: int, tag: str = "t") -> list[AuditRecord]:
    return audit_append_many(
        AuditEntry(Actor.system(), "test.fact", "thing", f"{tag}{i}", {"n": i}) for i in range(n)
    )


def expected_leaf(record: AuditRecord) -> bytes:
    return leaf_hash(canonical_text(**record_fields(record)).encode())


def leaves() -> list[AuditLeaf]:
    return list(AuditLeaf.objects.order_by("leaf_index"))


@pytest.mark.postgres
def test_writers_share_no_lock_until_commit():
    """A transaction that appended records and has not committed does not hold up another
    writer (before: every writer waited for the chain head's row lock until the first committed)."""
    appended = threading.Event()
    release = threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                append(3, "slow")
                appended.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert appended.wait(30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            fast = append(2, "fast")
        assert AuditRecord.objects.filter(object_id__startswith="fast").count() == 2
    finally:
        release.set()
        thread.join()
    slow = AuditRecord.objects.filter(object_id__startswith="slow").order_by("seq")
    assert [r.seq for r in slow] < [r.seq for r in fast]  # numbered when written, not when committed


def test_records_are_pending_until_sequenced_then_leaves_in_order():
    records = append(5)
    assert audit_pending_count() == 5
    assert AuditLeaf.objects.count() == 0

    run = audit_sequence()
    assert (run.added, run.tree_size) == (5, 5)
    assert audit_pending_count() == 0
    got = leaves()
    assert [leaf.record_id for leaf in got] == [r.seq for r in records]
    assert [bytes(leaf.leaf_hash) for leaf in got] == [expected_leaf(r) for r in records]
    state = AuditTreeState.objects.get(tree_size=5)
    assert bytes(state.root_hash) == root_of([expected_leaf(r) for r in records])

    assert audit_sequence().added == 0  # idempotent: nothing sequenced twice
    more = append(2, "m")
    assert audit_sequence().added == 2
    assert [leaf.record_id for leaf in leaves()] == [r.seq for r in [*records, *more]]


@pytest.mark.postgres
def test_a_record_committed_late_by_a_long_transaction_is_still_sequenced():
    """The long transaction's record has a lower number than records committed and sequenced
    while it ran; the next round still finds it."""
    appended = threading.Event()
    release = threading.Event()

    def long_writer() -> None:
        try:
            with transaction.atomic():
                append(1, "long")
                appended.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=long_writer)
    thread.start()
    assert appended.wait(30)
    append(3, "quick")
    assert audit_sequence().added == 3
    release.set()
    thread.join()
    append(1, "after")
    assert audit_sequence().added == 2
    assert audit_pending_count() == 0
    ids = [leaf.record_id for leaf in leaves()]
    assert len(ids) == len(set(ids)) == 5


def test_batches_continue_one_tree_and_store_complete_subtrees():
    records = append(600)
    assert audit_sequence(batch_size=256).added == 600
    assert AuditTreeState.objects.count() == 3
    hashes = [expected_leaf(r) for r in records]
    assert bytes(AuditTreeState.objects.get(tree_size=600).root_hash) == root_of(hashes)
    nodes = {(n.level, n.index): bytes(n.hash) for n in AuditNode.objects.all()}
    assert nodes == {(8, 0): root_of(hashes[:256]), (8, 1): root_of(hashes[256:512])}


@pytest.mark.postgres
def test_a_second_sequencer_finds_the_lock_taken_and_does_nothing():
    append(2)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCER_LOCK])
        result: list[SequencerRun] = []

        def second() -> None:
            try:
                result.append(audit_sequence())
            finally:
                connection.close()

        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert result[0].busy and result[0].added == 0
    assert audit_sequence().added == 2


def test_a_failed_batch_leaves_nothing_behind_and_the_next_run_redoes_it(monkeypatch):
    append(3)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash")

    monkeypatch.setattr(AuditTreeState.objects, "create", crash)
    with pytest.raises(RuntimeError):
        audit_sequence()
    monkeypatch.undo()
    assert AuditLeaf.objects.count() == 0
    assert audit_sequence().added == 3


def test_one_record_alone():
    record = audit_append(actor=Actor.user(1), action="x", object_type="thing", object_id=1)
    audit_sequence()
    assert bytes(AuditTreeState.objects.get().root_hash) == expected_leaf(record)


def test_awkward_text_is_hashed_as_its_canonical_form_by_the_sequencer_and_verify():
    """leaf_hashes (one comprehension, for speed) against audit.canonical.canonical_text, with
    what JSON and COPY must escape: quotes, backslashes, tabs, newlines, control characters,
    non-ASCII, in every text column and the payload."""
    awkward = 'q"uo\\te\ttab\nnl\r\x01\x1f é ✓ \u2028 💬'
    records = [
        audit_append(
            actor=Actor(type="staff", id=awkward), action=f"test.{awkward}", object_type=awkward,
            object_id=awkward, payload={awkward: [awkward, 1.5, None, True], "n": {"k": awkward}},
        ),
        audit_append(actor=Actor.system(), action="test.plain", object_type="t", object_id="1"),
    ]  # fmt: skip
    assert audit_sequence().added == 2
    assert [bytes(leaf.leaf_hash) for leaf in leaves()] == [expected_leaf(r) for r in records]
    assert audit_log_verify().ok
    assert audit_log_verify(processes=2).ok  # the contents check's own inlined form too


def _plan(query: str, params: dict[str, int]) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_PLAN)
        cursor.execute(f"EXPLAIN {query}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_a_batch_reads_the_txid_index_in_order_and_probes_each_leaf():
    """Issue 15, point 7: before, PostgreSQL hashed every leaf of the log and sorted every
    waiting record for each batch (13,633 records/s on a 10M log). The walk is now one range of
    the (txid, seq) index and one probe of the leaves' index per record, whatever the sizes."""
    append(300)
    audit_sequence(batch_size=100)
    append(50)
    params = {"horizon": 0, "after_txid": -1, "after_seq": 0, "after": 0, "limit": 1000}
    for query in (_PENDING, _PENDING_UNTRACKED):
        plan = _plan(query, params)
        assert "audit_txid_idx" in plan and "audit_auditleaf_record_id_key" in plan, plan
        assert "Sort" not in plan and "Hash" not in plan and "Seq Scan" not in plan, plan


@pytest.mark.postgres
def test_records_written_without_a_txid_are_walked_last_and_sequenced():
    """A record inserted by hand with no txid is still put into the log (after those with
    one), once, across batches."""
    records = append(3, "a")
    untracked = [
        AuditRecord.objects.create(
            seq=10_000_000 + i, created_at=records[0].created_at, actor_type="system", action="test.hand",
            object_type="thing", object_id=str(i), payload={}, hash="0" * 64, txid=None,
        )
        for i in range(3)
    ]  # fmt: skip
    more = append(2, "b")
    assert audit_sequence(batch_size=2).added == 8
    assert audit_sequence().added == 0
    assert [leaf.record_id for leaf in leaves()] == [r.seq for r in [*records, *more, *untracked]]
    assert audit_log_verify().ok


@pytest.mark.postgres
def test_leaves_appended_with_their_records_move_the_next_round_past_them():
    """The bench's fill writes records and their leaves in one transaction: when nothing else is
    pending and no older transaction is open, the next round does not walk them again."""
    with transaction.atomic():
        records = append(5, "f")
        size = audit_leaves_append([r.seq for r in records], [expected_leaf(r) for r in records])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            own = cursor.fetchone()[0]
    assert size == 5
    state = AuditTreeState.objects.get(tree_size=5)
    assert (state.horizon, state.round_horizon, state.after_seq) == (own + 1, own + 1, 0)
    assert audit_sequence().added == 0
    report = audit_log_verify()
    assert report.ok and (report.checked, report.pending) == (5, 0)


def test_leaves_appended_while_a_record_is_pending_leave_it_to_the_sequencer():
    waiting = append(1, "w")
    with transaction.atomic():
        records = append(3, "f")
        audit_leaves_append([r.seq for r in records], [expected_leaf(r) for r in records])
    assert AuditTreeState.objects.get(tree_size=3).horizon == 0  # the round was not moved
    assert audit_sequence().added == 1
    assert [leaf.record_id for leaf in leaves()] == [r.seq for r in [*records, *waiting]]
    assert audit_log_verify().ok and audit_pending_count() == 0
