"""Retention policies, and proxies that give the workspace its admin pages (the reports page
reads the rollups that ``hub.messaging.rollups`` writes)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from hub.contacts.models import Contact
from hub.messaging.models import DailyRollup, Message


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


class RecentContact(models.Model):
    """A contact a staff member opened lately (the support home's "recently viewed"): one row
    per (user, contact), the oldest dropped beyond ``hub.workspace.homes.RECENT_CONTACTS``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "contact"], name="recentcontact_unique")]
        indexes = [models.Index(fields=["user", "-viewed_at"], name="recentcontact_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} viewed {self.contact_id}"
