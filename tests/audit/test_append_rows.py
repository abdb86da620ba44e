"""The audit append builds its rows as tuples and keeps each payload's canonical text per JSON
text of it (``audit.services._payload_text``): the records it writes and returns are those a
record-by-record append made, and every one verifies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from audit.canonical import jsonb_text
from audit.models import AuditRecord
from audit.rows import INSERT_MAX_ROWS
from audit.services import Actor, AuditEntry, _payload_text, audit_append_many, audit_append_rows, record_hash

PAYLOADS: list[dict[Any, Any]] = [
    {"from": "accepted", "to": "queued", "decision": {"rules": [{"id": 1, "v": 2}], "sentence": "ok ✓"}},
    {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "pair": ("a", 1), 7: "seven", "f": 0.5},
    {},
]


def test_the_kept_canonical_text_is_the_payloads_own():
    for payload in PAYLOADS:
        dumped = json.dumps(payload, default=str)
        assert _payload_text(dumped) == jsonb_text(json.loads(dumped))
        assert _payload_text(dumped) is _payload_text(json.dumps(payload, default=str))  # kept


@pytest.mark.django_db
def test_records_appended_with_a_repeated_payload_are_stored_and_hashed_alike():
    entries = [
        AuditEntry(Actor.system(), "test.thing", "thing", str(i), p) for i, p in enumerate(PAYLOADS * 2)
    ]
    returned = audit_append_many(entries)
    assert audit_append_rows(entries) == len(entries)
    stored = list(AuditRecord.objects.filter(action="test.thing").order_by("seq"))
    assert len(stored) == 2 * len(entries)
    for record in stored:
        assert record.hash == record_hash(record)
    for mine, theirs in zip(returned, stored, strict=False):
        assert (
            mine.payload
            == theirs.payload
            == json.loads(json.dumps(PAYLOADS[int(mine.object_id) % 3], default=str))
        )
        assert (mine.seq, mine.hash, mine.created_at) == (theirs.seq, theirs.hash, theirs.created_at)


@pytest.mark.postgres  # the caller draws numbers in SQL on PostgreSQL
@pytest.mark.django_db
def test_numbers_drawn_by_the_caller_are_used_first_and_the_rest_drawn_here():
    from django.db import connection

    from audit.rows import rows_insert
    from audit.services import RECORD_COLUMNS, SEQ_NEXT_SQL, audit_rows

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {SEQ_NEXT_SQL}")
        (drawn,) = cursor.fetchone()
    entries = [AuditEntry(Actor.system(), "test.drawn", "thing", str(i), {"i": i}) for i in range(3)]
    rows = audit_rows(entries, seqs=(drawn,))
    assert rows[0][0] == drawn and rows[1][0] > drawn and rows[2][0] > rows[1][0]
    rows_insert(AuditRecord, RECORD_COLUMNS, rows)
    stored = list(AuditRecord.objects.filter(action="test.drawn").order_by("seq"))
    assert [r.object_id for r in stored] == ["0", "1", "2"]
    assert all(record.hash == record_hash(record) for record in stored)


@pytest.mark.django_db
def test_few_and_many_records_are_numbered_in_the_entries_order_and_verify():
    """On PostgreSQL records are numbered and hashed in their INSERT, a few or more than a
    multi-row INSERT's (elsewhere numbered and hashed here): in the entries' order, each
    verifying, and the records returned are those stored."""
    for count in (3, INSERT_MAX_ROWS + 10):
        entries = [
            AuditEntry(Actor.api_key('k\\"7'), "test.numbered", "thing", f"{count}-{i}", {"i": i, "s": "ü\t"})
            for i in range(count)
        ]
        assert audit_append_rows(entries) == count
        stored = list(
            AuditRecord.objects.filter(action="test.numbered", object_id__startswith=f"{count}-").order_by(
                "seq"
            )
        )
        assert [r.payload["i"] for r in stored] == list(range(count))
        assert all(r.hash == record_hash(r) for r in stored)
        returned = audit_append_many(entries[:2])
        assert [(r.seq, r.hash) for r in returned] == list(
            AuditRecord.objects.filter(seq__in=[r.seq for r in returned])
            .order_by("seq")
            .values_list("seq", "hash")
        )
        assert all(r.hash == record_hash(r) for r in returned)
