"""The audit trail is a gapless hash chain; any edit or gap is found and named."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditRecord
from audit.selectors import audit_chain_verify
from audit.services import GENESIS_HASH, Actor, AuditEntry, address_digest, audit_append, audit_append_many


@pytest.fixture
def chain(db):
    audit_append_many(AuditEntry(Actor.system(), "test.fact", "thing", str(i), {"n": i}) for i in range(5))
    return list(AuditRecord.objects.order_by("seq"))


def test_records_are_chained(chain):
    assert [r.seq for r in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert audit_chain_verify().ok


def test_appends_continue_the_chain(chain):
    record = audit_append(actor=Actor.user(7), action="x", object_type="thing", object_id=9)
    assert record.seq == 6 and record.prev_hash == chain[-1].hash
    assert audit_chain_verify().checked == 6


def test_altered_payload_is_named(chain):
    AuditRecord.objects.filter(seq=3).update(payload={"n": 999})
    report = audit_chain_verify()
    assert (report.ok, report.broken_seq) == (False, 3)
    with pytest.raises(CommandError, match="#3"):
        call_command("verify_audit")


def test_missing_record_is_named(chain):
    AuditRecord.objects.filter(seq=2).delete()
    assert audit_chain_verify().broken_seq == 2


def test_verify_command_reports_ok(chain, capsys):
    call_command("verify_audit")
    assert "Audit chain OK: 5 records" in capsys.readouterr().out


def test_address_digest_hides_the_address():
    digest = address_digest("Ada@Example.com")
    assert digest == address_digest("ada@example.com ")
    assert "example" not in digest and len(digest) == 32
