"""The audit trail: append-only records, sequenced into a Merkle log (RFC 9162) with signed tree heads."""

from __future__ import annotations

from django.db import models


class ActorType(models.TextChoices):
    SYSTEM = "system", "System"
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    PROVIDER = "provider", "Provider"


class AuditRecord(models.Model):
    """One fact, never changed, committed in the same transaction as the fact.

    ``seq`` is the record's number, drawn from a PostgreSQL sequence without any lock shared by
    writers (so not gapless, and not the order of commit); its place in the log is given later
    by the sequencer (``AuditLeaf``). ``hash`` is SHA-256 over the canonical serialisation of
    every other column (see audit.canonical); the record's Merkle leaf is that same text.
    ``prev_hash`` chains records written before the Merkle log (migration 0004) and is empty
    since. ``txid`` is the writing transaction's id: the sequencer uses it to know which
    records can no longer appear behind it (see audit.sequencer). In PostgreSQL, triggers
    refuse UPDATE, DELETE and TRUNCATE on this table.
    """

    seq = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    txid = models.BigIntegerField(null=True, editable=False)

    class Meta:
        ordering = ("seq",)
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["action", "created_at"], name="audit_action_idx"),
            models.Index(fields=["txid", "seq"], name="audit_txid_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditLeaf(models.Model):
    """A record's place in the Merkle log: leaf ``leaf_index`` is record ``record_id``, whose
    canonical form hashes (RFC 9162, 0x00-prefixed) to ``leaf_hash``. Written only by the
    sequencer, insert-only; a record without a leaf is pending."""

    leaf_index = models.BigIntegerField(primary_key=True)
    record_id = models.BigIntegerField(unique=True)
    leaf_hash = models.BinaryField()

    class Meta:
        ordering = ("leaf_index",)

    def __str__(self) -> str:
        return f"leaf {self.leaf_index}: record #{self.record_id}"


class AuditNode(models.Model):
    """The hash of a complete subtree of 2**level leaves (level a multiple of 8), the index-th
    at its level: what inclusion and consistency proofs are built from without rereading the
    leaves. A complete subtree never changes, so these are insert-only too."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="audit_node_unique")]

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class AuditTreeState(models.Model):
    """The tree after one sequencer batch: its size, root and frontier (the roots of its
    complete subtrees, largest first, 32 bytes each), and where the next batch looks for
    records (see audit.sequencer)."""

    tree_size = models.BigIntegerField(primary_key=True)
    root_hash = models.BinaryField()
    frontier = models.BinaryField()
    horizon = models.BigIntegerField()
    round_horizon = models.BigIntegerField()
    after_seq = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-tree_size",)

    def __str__(self) -> str:
        return f"tree of {self.tree_size}"


class AuditTreeHead(models.Model):
    """A signed tree head: a C2SP checkpoint (origin, size, root, time) signed as a C2SP signed
    note with the Ed25519 key held outside the database (see audit.notes)."""

    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField()
    note = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-created_at", "-id")
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"tree head {self.tree_size} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class AuditCheckpoint(models.Model):
    """A periodic copy of the old hash chain's head (before the Merkle log), append-only too.

    A tail cut off the audit table (records deleted from the end, head rewound) still leaves
    the checkpoint naming a record that should exist with that hash: verification finds it.
    """

    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-created_at", "-id")
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} at {self.created_at:%Y-%m-%d %H:%M:%S}"
