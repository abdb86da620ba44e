"""The part every evidence pack shares: its audit records with their proofs and the signed head.

``verify_evidence`` reads exactly these two files, so every pack (per contact, per template)
is checked by the same command.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from datetime import datetime

from audit.heads import audit_verifier_key
from audit.models import AuditRecord
from audit.proofs import audit_latest_head, audit_record_proofs
from audit.services import canonical_hash, record_canonical


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def audit_files_write(*, pack: zipfile.ZipFile, records: Sequence[AuditRecord]) -> None:
    """Write audit_records.jsonl (each record, its leaf index and inclusion proof) and tree_head.json."""
    head = audit_latest_head()
    proofs = audit_record_proofs(record_ids=[r.seq for r in records], head=head)
    pack.writestr(
        "audit_records.jsonl",
        "".join(
            json.dumps(
                {
                    "seq": r.seq,
                    "action": r.action,
                    "object": [r.object_type, r.object_id],
                    "canonical": record_canonical(r),
                    "hash": r.hash,
                    "hash_matches": canonical_hash(record_canonical(r)) == r.hash,
                    **proofs[r.seq].as_json(),
                },
                ensure_ascii=False,
            )
            + "\n"
            for r in records
        ),
    )
    tree_head = (
        {
            "tree_size": head.tree_size,
            "note": head.note,
            "signed_at": iso(head.created_at),
            "verifier_key": audit_verifier_key(),
        }
        if head
        else None
    )
    pack.writestr("tree_head.json", json.dumps(tree_head, indent=2, ensure_ascii=False, default=str))
