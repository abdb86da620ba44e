"""The audit trail: append-only records, each chained to the one before by its hash."""

from __future__ import annotations

from django.db import models


class ActorType(models.TextChoices):
    SYSTEM = "system", "System"
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    PROVIDER = "provider", "Provider"


class AuditRecord(models.Model):
    """One fact, never changed. ``seq`` is gapless; ``hash`` is SHA-256 over the canonical
    serialisation of every other column, ``prev_hash`` included (see audit.canonical).
    In PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE on this table.
    """

    seq = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("seq",)
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["action", "created_at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The single row that serialises appends: the last sequence number and its hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class AuditCheckpoint(models.Model):
    """A periodic copy of the chain head, kept outside the audit table (append-only too).

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
