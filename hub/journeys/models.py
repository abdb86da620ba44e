"""Journeys (SPEC §9): versioned definitions, the events that drive them, and their runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from hub.ids import uuid7
from templates_app.models import VersionStatus


class Journey(models.Model):
    """A journey's identity; what it does lives in its versions, one of them live."""

    key = models.SlugField(max_length=100, unique=True, help_text="e.g. abandoned_cart")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    live_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("key",)

    def __str__(self) -> str:
        return self.key


class JourneyVersion(models.Model):
    """One definition of a journey: draft → in review → approved (live) or rejected.

    A submitted version is frozen; a run pins the version it started on."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    definition = models.JSONField(help_text="The journey as JSON (docs: the journey definition schema).")
    # Copied from the definition so journeys are found by their trigger and goal with an index.
    trigger_event = models.CharField(max_length=100, db_index=True)
    goal_event = models.CharField(max_length=100, blank=True, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        ordering = ("journey", "-number")
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journey_version_number_unique")
        ]
        permissions = [
            ("submit_journeyversion", "Can submit a journey version for approval"),
            ("approve_journeyversion", "Can approve or reject journey versions (never their own)"),
        ]

    def __str__(self) -> str:
        return f"{self.journey.key} v{self.number}"


class JourneyApproval(models.Model):
    """One approval of a version (a rollback approves an older version again)."""

    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="approvals")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ("-approved_at",)

    def __str__(self) -> str:
        return f"{self.version} approved by {self.approved_by_id}"


class Event(models.Model):
    """An event about a contact, as posted to ``POST /api/v1/events``.

    ``event_id`` is the caller's id: one per API key is stored, a repeat is answered from
    ``result`` and changes nothing."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    api_key = models.ForeignKey(
        "apikeys.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    event_id = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=100)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="events")
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    # The runs it started, resumed, ended or converted: [{"run", "journey", "action"}].
    result = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("-received_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "event_id"],
                name="event_id_per_api_key",
                condition=~models.Q(event_id=""),
            )
        ]
        indexes = [models.Index(fields=["contact", "name", "occurred_at"], name="event_contact_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} {self.id}"


class RunStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    WAITING = "waiting", "Waiting"
    COMPLETED = "completed", "Completed"
    EXITED = "exited", "Exited"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


FINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.CANCELLED, RunStatus.FAILED})


class JourneyRun(models.Model):
    """One contact's way through one journey version, from one entry.

    A waiting run sleeps here: ``wake_at`` (indexed for waiting runs only) is when beat wakes
    it; ``waiting_for`` says what else may wake it first (an event, a message status, a
    digest's events)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="runs")
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="runs")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="journey_runs")
    # What makes this entry unique for (journey, contact): "once", or the entry event's id.
    entry = models.CharField(max_length=64)
    entry_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey(
        "apikeys.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.ACTIVE)
    step = models.CharField(max_length=64, blank=True, help_text="The current step's id.")
    wake_at = models.DateTimeField(null=True, blank=True)
    waiting_for = models.JSONField(default=dict, blank=True)
    # Outcomes of the steps so far (CEL's ``steps``), digest buffers and the like.
    state = models.JSONField(default=dict, blank=True)
    steps_taken = models.PositiveIntegerField(default=0)
    exit_event = models.CharField(max_length=100, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        permissions = [("cancel_journeyrun", "Can cancel a journey run")]
        constraints = [
            models.UniqueConstraint(fields=["journey", "contact", "entry"], name="journey_run_per_entry"),
        ]
        indexes = [
            models.Index(
                fields=["wake_at"],
                name="journey_run_wake_idx",
                condition=models.Q(status="waiting", wake_at__isnull=False),
            ),
            models.Index(fields=["contact", "status"], name="journey_run_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id} run {self.id}"


class RunEntryKind(models.TextChoices):
    STARTED = "started", "Started"
    STEP_ENTERED = "step_entered", "Step entered"
    STEP_LEFT = "step_left", "Step left"
    WAIT = "wait", "Waiting"
    RESUMED = "resumed", "Resumed"
    BRANCH = "branch", "Branch taken"
    MESSAGE = "message", "Message sent"
    MESSAGE_STATUS = "message_status", "Message status"
    DIGEST = "digest", "Digest event"
    CONVERTED = "converted", "Converted (goal)"
    COMPLETED = "completed", "Completed"
    EXITED = "exited", "Exited"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class JourneyRunEntry(models.Model):
    """One line of a run's timeline."""

    run = models.ForeignKey(JourneyRun, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=RunEntryKind.choices)
    step = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ("at", "id")
        verbose_name_plural = "journey run entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.step}"


class JourneyRunMessage(models.Model):
    """A message a run's send step created: how a status change finds the run waiting on it."""

    run = models.ForeignKey(JourneyRun, on_delete=models.CASCADE, related_name="messages")
    step = models.CharField(max_length=64)
    message_id = models.UUIDField(db_index=True)
    notification_id = models.UUIDField()

    def __str__(self) -> str:
        return f"{self.step} {self.message_id}"
