"""Concurrent writers, with the sequencer running alongside them: every committed record ends up
in the log exactly once, rolled-back ones never, and the log verifies."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from audit.models import AuditLeaf, AuditRecord
from audit.sequencer import audit_pending_count, audit_sequence
from audit.services import Actor, AuditEntry, audit_append_many
from audit.verify import audit_log_verify

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 6
BATCHES = 5
BATCH = 20


class Rollback(Exception):
    pass


def write(writer: int) -> None:
    try:
        for batch in range(BATCHES):
            try:
                with transaction.atomic():
                    audit_append_many(
                        AuditEntry(
                            Actor.system(), "test.concurrent", "writer", str(writer), {"batch": batch, "i": i}
                        )
                        for i in range(BATCH)
                    )
                    if batch == 2:
                        raise Rollback
            except Rollback:
                pass
    finally:
        connection.close()


def test_concurrent_writers_and_sequencer_lose_and_duplicate_nothing():
    done = threading.Event()

    def sequencer() -> None:
        try:
            while not done.is_set():
                audit_sequence(batch_size=37)
        finally:
            connection.close()

    runner = threading.Thread(target=sequencer)
    runner.start()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    done.set()
    runner.join()
    audit_sequence()
    committed = WRITERS * (BATCHES - 1) * BATCH
    assert AuditRecord.objects.count() == committed
    assert not AuditRecord.objects.filter(payload__batch=2).exists()
    assert audit_pending_count() == 0
    ids = list(AuditLeaf.objects.order_by("leaf_index").values_list("record_id", flat=True))
    assert len(ids) == len(set(ids)) == committed
    report = audit_log_verify()
    assert (report.ok, report.checked) == (True, committed), report.problem
