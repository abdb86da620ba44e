"""Notifications (one trigger for one contact), messages (one channel attempt) and events."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from hub.ids import uuid7
from templates_app.models import Channel


class MessageStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    QUEUED = "queued", "Queued"
    DEFERRED = "deferred", "Deferred"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"
    BLOCKED = "blocked", "Blocked"
    CANCELLED = "cancelled", "Cancelled"


class BlockReason(models.TextChoices):
    SUPPRESSED = "suppressed", "Suppressed address"
    OPTED_OUT = "opted_out", "Opted out"
    NO_CONSENT = "no_consent", "No consent"
    FREQUENCY_CAPPED = "frequency_capped", "Frequency cap reached"
    COUNTRY_NOT_ALLOWED = "country_not_allowed", "Country not allowed"
    NO_ADDRESS = "no_address", "No address for this channel"
    CONTENT_RULE = "content_rule", "Content rule"
    ERASED = "erased", "Contact erased"


# A staff "send a test to me" notification's reference starts with this: it is marked as a
# test in admin and never counted in the reports' rollups.
TEST_SEND_REFERENCE_PREFIX = "template-test:"


class Routing(models.TextChoices):
    FIRST = "first", "First channel that works"
    ALL = "all", "Every channel"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    api_key = models.ForeignKey(
        "apikeys.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    template_version = models.ForeignKey(
        "templates_app.TemplateVersion", on_delete=models.PROTECT, related_name="+"
    )
    template_approval = models.ForeignKey(
        "templates_app.TemplateApproval", null=True, on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    to = models.JSONField(default=dict, blank=True, help_text="Inline addresses given by the caller.")
    data = models.JSONField(default=dict, blank=True)
    channels = models.JSONField(default=list)
    routing = models.CharField(max_length=8, choices=Routing.choices, default=Routing.FIRST)
    locale = models.CharField(max_length=35, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    # A sender the caller chose (GOV.UK Notify's sms_sender_id / email_reply_to_id): the SMS
    # comes from this number or sender id, the email's Reply-To is this address. Blank: the
    # provider's configured sender.
    sms_sender = models.CharField(max_length=15, blank=True, default="", db_default="")
    email_reply_to = models.EmailField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # Issue 7: a cancelled notification sends nothing more, fallback included.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Issue 7: the broadcast row this notification was made for (at most one per row).
    broadcast_recipient = models.OneToOneField(
        "broadcasts.BroadcastRecipient",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notification",
    )

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return str(self.id)


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=8)
    category = models.CharField(max_length=16)
    to = models.CharField(max_length=500, blank=True)
    locale = models.CharField(max_length=35, blank=True)
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.ACCEPTED)
    block_reason = models.CharField(max_length=24, choices=BlockReason.choices, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="Not to be sent before this.")
    attempts = models.PositiveSmallIntegerField(default=0)
    provider = models.CharField(max_length=64, blank=True)
    provider_message_id = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    needs_reconciliation = models.BooleanField(
        default=False, help_text="The hand-off outcome is unknown: check with the provider."
    )
    rendered = models.JSONField(default=dict, blank=True)
    # The compliance decision (see hub.compliance): {"outcome", "reason", "rules": [{"key",
    # "version", "effect", "matched"}], "inputs": {...}, "sentence": "..."}.
    decision = models.JSONField(default=dict, blank=True)
    # "rule_key vN" of the rule that blocked or deferred the message, for search.
    decided_by = models.CharField(max_length=100, blank=True)
    # Issue 7 (routing "first"): if not delivered by then, the next channel is tried.
    fallback_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["status", "status_changed_at"], name="message_status_idx"),
            models.Index(fields=["provider", "provider_message_id"], name="message_provider_id_idx"),
            # Compliance workspace search (hub.workspace.search): by address, by block reason.
            models.Index(fields=["to"], name="message_to_idx", condition=~models.Q(to="")),
            models.Index(
                fields=["block_reason", "id"],
                name="message_block_reason_idx",
                condition=~models.Q(block_reason=""),
            ),
            # A lane's drain: queued messages of one channel and category, oldest first. Only
            # queued rows are in it, so it stays small whatever the table holds.
            models.Index(
                fields=["channel", "category", "id"],
                name="message_queued_lane_idx",
                condition=models.Q(status="queued"),
            ),
            # By status (and channel, filtered on the way), newest first.
            models.Index(fields=["status", "id"], name="message_status_id_idx"),
            # By rule version, newest first (most messages have none: they stay out of it).
            models.Index(
                fields=["decided_by", "id"],
                name="message_decided_by_idx",
                condition=~models.Q(decided_by=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.id}"


class EventKind(models.TextChoices):
    STATUS = "status", "Status change"
    PROVIDER = "provider", "Provider report (no status change)"
    ENGAGEMENT = "engagement", "Engagement"


class MessageEvent(models.Model):
    """One entry on a message's timeline."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    status = models.CharField(max_length=16, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ("occurred_at", "id")

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"


MAX_FALLBACK_WAIT_SECONDS = 7 * 24 * 3600


class FallbackPolicy(models.Model):
    """Per template and channel: with routing ``first``, a message on this channel not
    delivered within ``wait_seconds`` makes the notification try its next channel
    (e.g. push not delivered in 10 minutes → SMS)."""

    template = models.ForeignKey("templates_app.Template", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    wait_seconds = models.PositiveIntegerField(help_text="e.g. 600 for ten minutes.")

    class Meta:
        verbose_name_plural = "fallback policies"
        constraints = [
            models.UniqueConstraint(fields=["template", "channel"], name="fallback_policy_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} {self.channel} after {self.wait_seconds}s"

    def clean(self) -> None:
        # Zero would skip the channel at once (that is routing "all"); past a week the message
        # it would rescue is long stale.
        if not 1 <= self.wait_seconds <= MAX_FALLBACK_WAIT_SECONDS:
            raise ValidationError(
                {"wait_seconds": f"Wait between 1 second and {MAX_FALLBACK_WAIT_SECONDS // 86400} days."}
            )


class DailyRollup(models.Model):
    """Counts for one template, channel and day (UTC), kept up to date as events arrive
    (written by ``hub.messaging.rollups``, read by ``hub.workspace.reports``)."""

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
    accepted = models.BigIntegerField(
        default=0, db_default=0, help_text="Messages decided by compliance (left accepted)."
    )
    deferred = models.BigIntegerField(default=0, db_default=0, help_text="Messages compliance deferred.")
    machine_opens = models.BigIntegerField(
        default=0, db_default=0, help_text="Opens by privacy proxies, not people."
    )
    machine_clicks = models.BigIntegerField(
        default=0, db_default=0, help_text="Clicks by link scanners, not people."
    )
    converted = models.BigIntegerField(
        default=0, db_default=0, help_text="Goal events attributed to a message."
    )

    class Meta:
        db_table = "workspace_dailyrollup"  # created by the workspace app, moved here
        ordering = ("-day", "template", "channel")
        constraints = [
            models.UniqueConstraint(fields=["template", "channel", "day"], name="rollup_unique_day"),
        ]
        indexes = [models.Index(fields=["day"], name="rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.template_id} {self.channel} {self.day}"


class AcceptedPending(models.Model):
    """Accepted messages not yet added to the rollups' ``accepted`` counters: written by the
    intake in the accept's own transaction (one row per template, channel, day and locale of
    the accept, no shared row to wait on), folded into ``DailyRollup`` and ``SliceRollup`` and
    deleted in one transaction by ``hub.messaging.rollups.rollups_fold_accepted`` (beat, and
    every report before it reads). A crash before the fold commits leaves the rows to the
    next fold: a count is never lost or added twice."""

    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)
    day = models.DateField()
    locale = models.CharField(max_length=35, blank=True)
    count = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.template_id} {self.channel} {self.day} {self.locale}: {self.count}"


class DecisionRollup(models.Model):
    """How many messages compliance blocked or deferred, per day and reason."""

    day = models.DateField()
    outcome = models.CharField(max_length=16)
    reason = models.CharField(max_length=100)
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "workspace_decisionrollup"
        constraints = [
            models.UniqueConstraint(fields=["day", "outcome", "reason"], name="decision_rollup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.outcome} {self.reason}: {self.count}"


class SliceRollup(models.Model):
    """Counts for one template, channel, day, locale and provider: the reports' breakdowns by
    locale and by provider. A message counts under the provider it had when the status was
    reached ("" before hand-off, so acceptance and compliance outcomes have no provider)."""

    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)
    day = models.DateField()
    locale = models.CharField(max_length=35, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    accepted = models.BigIntegerField(default=0)
    sent = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    blocked = models.BigIntegerField(default=0)
    deferred = models.BigIntegerField(default=0)
    opened = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "channel", "day", "locale", "provider"], name="rep_slice_unique"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="rep_slice_day_idx")]

    def __str__(self) -> str:
        return f"{self.template_id} {self.channel} {self.day} {self.locale} {self.provider}"


class ReasonRollup(models.Model):
    """How many of a template's messages on a channel compliance blocked or deferred, per day
    and reason (a block reason code, or the kind of the rule that deferred)."""

    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)
    day = models.DateField()
    outcome = models.CharField(max_length=16)
    reason = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "channel", "day", "outcome", "reason"], name="rep_reason_unique"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="rep_reason_day_idx")]

    def __str__(self) -> str:
        return f"{self.template_id} {self.channel} {self.day} {self.outcome} {self.reason}: {self.count}"


class CountryRollup(models.Model):
    """What a template's messages on a channel cost per day and destination country (SMS: the
    number's country, ISO 3166 alpha-2; email and push: ""), from the price table or the
    provider's reported price (issue 18 point 4)."""

    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)
    day = models.DateField()
    country = models.CharField(max_length=2, blank=True)
    sent = models.BigIntegerField(default=0)
    segments = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "channel", "day", "country"], name="rep_country_unique"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="rep_country_day_idx")]

    def __str__(self) -> str:
        return f"{self.template_id} {self.channel} {self.day} {self.country}"
