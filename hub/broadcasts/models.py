"""A broadcast: one template to an audience, fanned out in batches at a set rate.

Each audience row is saved exactly once (unique per broadcast and row number), and a
recipient once (unique per broadcast and recipient key, except rows skipped as invalid or
duplicate, which stay for the validation report).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from hub.ids import uuid7
from hub.messaging.models import Routing


class BroadcastStatus(models.TextChoices):
    DRAFT = "draft", "Draft (not started)"
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed (every recipient released)"
    CANCELLED = "cancelled", "Cancelled"


class AudienceKind(models.TextChoices):
    RECIPIENTS = "recipients", "Explicit external ids"
    FILTER = "filter", "Filter on contact attributes"
    CSV = "csv", "Uploaded CSV"


class Broadcast(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=200)
    api_key = models.ForeignKey(
        "apikeys.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    channels = models.JSONField(default=list, blank=True)
    routing = models.CharField(max_length=8, choices=Routing.choices, default=Routing.FIRST)
    data = models.JSONField(default=dict, blank=True, help_text="Data shared by every recipient.")
    reference = models.CharField(max_length=200, blank=True)
    audience_kind = models.CharField(max_length=16, choices=AudienceKind.choices)
    audience_filter = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=BroadcastStatus.choices, default=BroadcastStatus.DRAFT)
    send_at = models.DateTimeField(null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages per minute; empty: as fast as the workers go."
    )
    # The admin CSV flow: the upload, its column mapping and the validation report.
    csv_text = models.TextField(blank=True)
    column_mapping = models.JSONField(default=dict, blank=True)
    validation_report = models.JSONField(default=dict, blank=True)
    audience_ready = models.BooleanField(default=False, help_text="Recipients have been written.")
    total = models.PositiveIntegerField(default=0, help_text="Valid recipients.")
    skipped = models.PositiveIntegerField(default=0, help_text="Rows skipped (invalid, duplicate).")
    released = models.PositiveIntegerField(default=0, help_text="Recipients turned into notifications.")
    rate_tokens = models.FloatField(default=0.0)
    rate_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["status", "send_at"], name="broadcast_status_idx")]

    def __str__(self) -> str:
        return self.name or str(self.id)


class RecipientState(models.TextChoices):
    PENDING = "pending", "Pending"
    RELEASED = "released", "Released"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class BroadcastRecipient(models.Model):
    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    row = models.PositiveIntegerField(help_text="Position in the audience (CSV line, list index).")
    recipient_key = models.CharField(max_length=300, help_text="What makes two rows the same person.")
    external_id = models.CharField(max_length=128, blank=True)
    to = models.JSONField(default=dict, blank=True, help_text="Inline addresses from a CSV.")
    data = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=RecipientState.choices, default=RecipientState.PENDING)
    error = models.CharField(max_length=200, blank=True)
    # Its notification, once released: Notification.broadcast_recipient (one per row, at most).

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "row"], name="broadcast_row_once"),
            models.UniqueConstraint(
                fields=["broadcast", "recipient_key"],
                condition=~Q(state="skipped"),
                name="broadcast_recipient_once",
            ),
        ]
        indexes = [models.Index(fields=["broadcast", "state", "row"], name="broadcast_recipient_next_idx")]

    def __str__(self) -> str:
        return f"{self.broadcast_id} row {self.row}"
