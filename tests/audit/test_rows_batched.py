"""A batched block (``audit.rows.rows_batched``) sends its few-row INSERTs as one statement, yet
reads and writes in the order its code runs them: a read sees the rows written before it, a
savepoint rolled back takes the rows written after it, a block that raises writes nothing."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditNode, AuditRecord
from audit.rows import rows_batched, rows_insert
from audit.services import Actor, AuditEntry, audit_append_rows, record_hash

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _nodes(*indexes: int) -> None:
    rows_insert(AuditNode, ("level", "index", "hash"), [(8, i, bytes(32)) for i in indexes])


def _entry(i: int) -> AuditEntry:
    return AuditEntry(Actor.api_key(7), "test.batched", "thing", f'"{i}\\ ✓', {"i": i, "s": "é\n"})


def _inner_block_that_raises() -> None:
    with rows_batched():
        _nodes(2)
        audit_append_rows([_entry(3)])
        raise ZeroDivisionError


def _block_that_raises() -> None:
    with transaction.atomic(), rows_batched():
        _nodes(1)
        raise ZeroDivisionError


def _indexes() -> list[int]:
    return sorted(AuditNode.objects.filter(level=8).values_list("index", flat=True))


def test_the_blocks_inserts_go_as_one_statement_and_its_records_verify():
    with CaptureQueriesContext(connection) as queries, rows_batched():
        _nodes(1, 2)
        audit_append_rows([_entry(1), _entry(2)])
        _nodes(3)
    writes = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(writes) == 1 and writes[0].startswith("WITH w0 AS (INSERT")
    assert _indexes() == [1, 2, 3]
    records = list(AuditRecord.objects.filter(action="test.batched").order_by("seq"))
    assert [r.payload["i"] for r in records] == [1, 2]  # numbered in the entries' order
    assert all(r.hash == record_hash(r) for r in records)


def test_a_read_in_the_block_sees_the_rows_written_before_it():
    with rows_batched():
        _nodes(1)
        assert _indexes() == [1]
        _nodes(2)
    assert _indexes() == [1, 2]


def test_a_savepoint_rolled_back_takes_only_the_rows_written_after_it():
    with rows_batched():
        _nodes(1)
        with pytest.raises(ZeroDivisionError):
            _inner_block_that_raises()
        _nodes(4)
    assert _indexes() == [1, 4]
    assert not AuditRecord.objects.filter(action="test.batched").exists()


def test_a_block_that_raises_writes_nothing_and_the_next_one_writes():
    with pytest.raises(ZeroDivisionError):
        _block_that_raises()
    assert _indexes() == []
    with rows_batched():
        _nodes(2)
    assert _indexes() == [2]
