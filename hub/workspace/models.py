"""Rollups for reports, retention policies, and proxies that give the workspace its admin pages."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from hub.contacts.models import Contact
from hub.messaging.models import Message


class DailyRollup(models.Model):
    """Counts for one template, channel and day (UTC), kept up to date as events arrive."""

    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)
    day = models.DateField()
    sent = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    bounced = models.BigIntegerField(default=0)
    blocked = models.BigIntegerField(default=0)
    opened = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)
    unsubscribed = models.BigIntegerField(default=0)
    complained = models.BigIntegerField(default=0)
    segments = models.BigIntegerField(default=0, help_text="SMS segments handed to providers.")
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=0)

    class Meta:
        ordering = ("-day", "template", "channel")
        constraints = [
            models.UniqueConstraint(fields=["template", "channel", "day"], name="rollup_unique_day"),
        ]
        indexes = [models.Index(fields=["day"], name="rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.template_id} {self.channel} {self.day}"


class DecisionRollup(models.Model):
    """How many messages compliance blocked or deferred, per day and reason."""

    day = models.DateField()
    outcome = models.CharField(max_length=16)
    reason = models.CharField(max_length=100)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "outcome", "reason"], name="decision_rollup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.outcome} {self.reason}: {self.count}"


class RetentionPolicy(models.Model):
    """How long personal data (rendered content, addresses) is kept for one channel."""

    channel = models.CharField(
        max_length=8,
        unique=True,
        choices=[("sms", "SMS"), ("email", "Email"), ("push", "Push")],
    )
    days = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"
        ordering = ("channel",)

    def __str__(self) -> str:
        return f"{self.channel}: {self.days} days"


class WorkspaceMessage(Message):
    """The compliance workspace's view of messages (search, detail, export, evidence)."""

    class Meta:
        proxy = True
        verbose_name = "message (compliance workspace)"
        verbose_name_plural = "compliance workspace"
        permissions = [("export_evidence", "Can download a contact's evidence pack")]


class ContactTimeline(Contact):
    """The support view of a contact: everything that happened to them, newest first."""

    class Meta:
        proxy = True
        verbose_name = "contact timeline"
        verbose_name_plural = "contact timelines"


class Report(DailyRollup):
    """The reports page (per template, channel and day) over the rollups."""

    class Meta:
        proxy = True
        verbose_name = "report"
        verbose_name_plural = "reports"


class WorkerHeartbeat(models.Model):
    """When a Celery worker last started a task from one queue (``hub.workers.liveness``)."""

    worker = models.CharField(max_length=200)  # Celery's node name, e.g. ``celery@host``
    queue = models.CharField(max_length=200)
    consumed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["worker", "queue"], name="workerheartbeat_unique")]

    def __str__(self) -> str:
        return f"{self.worker} {self.queue}"
