"""Concurrent writers append to one gapless, correctly linked chain (the head row lock
serialises them), in batches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from audit.models import AuditRecord
from audit.selectors import audit_chain_verify
from audit.services import Actor, AuditEntry, audit_append_many

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 6
BATCHES = 5
BATCH = 20


def write(writer: int) -> None:
    try:
        for batch in range(BATCHES):
            with transaction.atomic():
                audit_append_many(
                    AuditEntry(
                        Actor.system(), "test.concurrent", "writer", str(writer), {"batch": batch, "i": i}
                    )
                    for i in range(BATCH)
                )
    finally:
        connection.close()


def test_concurrent_batches_make_one_gapless_chain():
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    total = WRITERS * BATCHES * BATCH
    assert list(AuditRecord.objects.values_list("seq", flat=True)) == list(range(1, total + 1))
    report = audit_chain_verify()
    assert (report.ok, report.checked) == (True, total)
    # Each batch stayed contiguous: a writer's batch is never interleaved with another's.
    rows = list(AuditRecord.objects.values_list("object_id", "payload"))
    for start in range(0, total, BATCH):
        chunk = rows[start : start + BATCH]
        assert len({(w, p["batch"]) for w, p in chunk}) == 1
