"""Checking an evidence pack offline: no database, no settings, only the pack and the log's
public key (obtained from the company independently of the pack).

The pack's ``tree_head.json`` holds a signed tree head (a C2SP checkpoint signed as a note);
each line of ``audit_records.jsonl`` holds a record's canonical form, its leaf index and its
inclusion proof under that head. A record holds if the head is signed by the key and the proof
leads from SHA-256(0x00 || canonical form) to the head's root (RFC 9162 §2.1.3.2), and the
fields shown beside the canonical form say what it says.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.merkle import leaf_hash, verify_inclusion
from audit.notes import Checkpoint, NoteError, open_note_any, parse_checkpoint, parse_verifier_key


@dataclass
class EvidenceReport:
    head: Checkpoint | None = None
    proven: int = 0
    unproven: list[int] = field(default_factory=list)  # records newer than the pack's head
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.head is not None and not self.failures


def _check(line: dict[str, Any], head: Checkpoint) -> str | None:
    """What is wrong with one record line, or None."""
    canonical = str(line["canonical"])
    body = json.loads(canonical)
    if [body["seq"], body["action"], body["object"]] != [line["seq"], line["action"], line["object"]]:
        return "the fields shown differ from its canonical form"
    try:
        path = [base64.b64decode(step, validate=True) for step in line["inclusion_proof"]]
    except (binascii.Error, TypeError) as exc:
        return f"its proof is not base64 ({exc})"
    if not verify_inclusion(
        int(line["leaf_index"]), head.size, leaf_hash(canonical.encode()), path, head.root
    ):
        return f"its inclusion proof (leaf {line['leaf_index']}) does not lead to the signed root"
    return None


def evidence_verify(pack: bytes, *, public_keys: Sequence[str]) -> EvidenceReport:
    """Check every record of the pack against its signed tree head (see the module docstring),
    which must be signed by one of ``public_keys`` (the log's key, and after a rotation the keys
    it signed with before)."""
    report = EvidenceReport()
    keys = [parse_verifier_key(key) for key in public_keys]
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        head = json.loads(archive.read("tree_head.json"))
        lines = [
            json.loads(x) for x in archive.read("audit_records.jsonl").decode().splitlines() if x.strip()
        ]
    if head is None:
        report.failures.append("the pack has no signed tree head")
        return report
    try:
        report.head = parse_checkpoint(open_note_any(str(head["note"]), keys))
    except NoteError as exc:
        names = ", ".join(sorted({name for name, _ in keys}))
        report.failures.append(f"the tree head is not signed by {names} ({exc})")
        return report
    for line in lines:
        if line.get("inclusion_proof") is None:
            report.unproven.append(int(line["seq"]))
            continue
        problem = _check(line, report.head)
        if problem is None:
            report.proven += 1
        else:
            report.failures.append(f"record #{line['seq']}: {problem}")
    return report
