"""Inclusion and consistency proofs from the stored log, without rereading it.

A proof needs the hashes of O(log n) complete subtrees; each is folded from at most 256 stored
hashes of the level below it that is a multiple of 8 (leaves, or AuditNode rows), so a proof
costs a few small index reads whatever the log's size.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from audit.merkle import Subtree, consistency_proof, inclusion_proof, node_hash
from audit.models import AuditLeaf, AuditNode, AuditTreeHead


def _stored_subtree(start: int, width: int) -> bytes:
    height = width.bit_length() - 1
    level = height - height % 8
    first, count = start >> level, width >> level
    if level == 0:
        rows = AuditLeaf.objects.filter(leaf_index__gte=first, leaf_index__lt=first + count).order_by(
            "leaf_index"
        )
        hashes = [bytes(h) for h in rows.values_list("leaf_hash", flat=True)]
    else:
        nodes = AuditNode.objects.filter(level=level, index__gte=first, index__lt=first + count).order_by(
            "index"
        )
        hashes = [bytes(h) for h in nodes.values_list("hash", flat=True)]
    if len(hashes) != count:
        raise LookupError(f"the log does not hold the {width} leaves from {start}")
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


STORED: Subtree = _stored_subtree


def audit_inclusion_proof(*, leaf_index: int, tree_size: int) -> list[bytes]:
    return inclusion_proof(leaf_index, tree_size, STORED)


def audit_consistency_proof(*, old_size: int, tree_size: int) -> list[bytes]:
    return consistency_proof(old_size, tree_size, STORED)


@dataclass(frozen=True)
class RecordProof:
    """Record ``record_id`` is leaf ``leaf_index``; ``path`` proves it under ``head`` (None
    while the record is not yet in a signed tree head)."""

    record_id: int
    leaf_index: int | None
    path: list[bytes] | None

    def as_json(self) -> dict[str, object]:
        return {
            "leaf_index": self.leaf_index,
            "inclusion_proof": [base64.b64encode(h).decode() for h in self.path]
            if self.path is not None
            else None,
        }


def audit_latest_head() -> AuditTreeHead | None:
    return AuditTreeHead.objects.order_by("-created_at", "-id").first()


def audit_record_proofs(*, record_ids: Iterable[int], head: AuditTreeHead | None) -> dict[int, RecordProof]:
    """Each record's leaf and its inclusion proof under ``head``."""
    ids = list(record_ids)
    leaves = dict(AuditLeaf.objects.filter(record_id__in=ids).values_list("record_id", "leaf_index"))
    proofs = {}
    for record_id in ids:
        index = leaves.get(record_id)
        path = None
        if head is not None and index is not None and index < head.tree_size:
            path = audit_inclusion_proof(leaf_index=index, tree_size=head.tree_size)
        proofs[record_id] = RecordProof(record_id, index, path)
    return proofs
