"""Contacts: the people messages go to, known by the calling service's own id."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from hub.contacts.keywords import SmsKeyword
from hub.ids import uuid7


class Contact(models.Model):
    external_id = models.CharField(max_length=128, unique=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +447911123456")
    locale = models.CharField(max_length=35, blank=True)
    timezone = models.CharField(max_length=64, blank=True, help_text="IANA, e.g. Europe/London")
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("external_id",)
        permissions = [
            ("erase_contact", "Can erase a contact (right to erasure)"),
            # Issue 20: support reads a contact's page with addresses masked unless granted this.
            ("view_contact_addresses", "Can see contacts' email addresses and phone numbers in full"),
        ]

    def __str__(self) -> str:
        return self.external_id


class DeviceKind(models.TextChoices):
    FCM = "fcm", "FCM token"
    WEBPUSH = "webpush", "Web Push subscription"


class Device(models.Model):
    """A push destination of a contact: an FCM registration token or a Web Push subscription."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="devices")
    kind = models.CharField(max_length=8, choices=DeviceKind.choices)
    token = models.CharField(max_length=4096, help_text="FCM token, or the Web Push endpoint URL.")
    subscription = models.JSONField(
        default=dict, blank=True, help_text="Web Push: {endpoint, keys: {p256dh, auth}}."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the provider says it is gone."
    )

    class Meta:
        ordering = ("contact", "created_at")

    def __str__(self) -> str:
        return f"{self.kind} device of {self.contact}"


class ConsentSource(models.TextChoices):
    API = "api", "API"
    SMS_KEYWORD = "sms_keyword", "SMS keyword"
    ONE_CLICK = "one_click", "One-click unsubscribe"
    PREFERENCE_PAGE = "preference_page", "Preference page"
    COMPLAINT = "complaint", "Complaint"
    BOUNCE = "bounce", "Bounce"
    PROVIDER = "provider", "Provider report"
    ADMIN = "admin", "Admin"
    IMPORT = "import", "CSV import (evidence in the entry)"


class ConsentEntry(models.Model):
    """One entry of the append-only consent ledger; the current state is derived from it."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=8)
    purpose = models.CharField(max_length=16, help_text="The category: transactional or marketing.")
    granted = models.BooleanField()
    source = models.CharField(max_length=16, choices=ConsentSource.choices)
    evidence = models.JSONField(default=dict, blank=True, help_text="Wording version, IP, user agent...")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("contact", "created_at", "id")
        verbose_name_plural = "consent entries"
        indexes = [
            models.Index(fields=["contact", "channel", "purpose", "-created_at"], name="consent_state_idx"),
            # The compliance home's "opt-outs today": withdrawals by time, without the grants.
            models.Index(
                fields=["created_at"], name="consent_withdrawn_idx", condition=models.Q(granted=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} {self.channel}/{self.purpose} {'granted' if self.granted else 'withdrawn'}"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    COMPLAINT = "complaint", "Complaint"
    SMS_OPT_OUT = "sms_opt_out", "SMS opt-out"
    MANUAL = "manual", "Manual"
    ERASURE = "erasure", "Erasure"
    INVALID = "invalid", "Invalid address"


class Suppression(models.Model):
    """An address (not a contact) that must not be sent to. ``address_hash`` (a keyed digest,
    see audit.digests) lets an erased address stay suppressed without keeping it readable."""

    channel = models.CharField(max_length=8)
    address = models.CharField(max_length=500, blank=True)
    address_hash = models.CharField(max_length=64, db_index=True)
    # Which HUB_DIGEST_KEYS key made address_hash: that key may not be dropped while rows use it.
    key_id = models.CharField(max_length=32, db_index=True)
    reason = models.CharField(max_length=16, choices=SuppressionReason.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("lift_suppression", "Can lift a suppression (Compliance only)")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "address_hash"],
                condition=models.Q(lifted_at__isnull=True),
                name="suppression_active_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} suppression ({self.reason})"


class Conversation(models.Model):
    """Everything one person wrote to us on one channel from one address, and our replies.

    Known by the address's keyed digest (``address_hash``), never the address itself, so
    retention and erasure leave nothing personal here. ``contact`` is empty while the sender
    is unknown (the admin inbox); support links it to a contact."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    channel = models.CharField(max_length=8)
    address_hash = models.CharField(max_length=64)
    started_at = models.DateTimeField(auto_now_add=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-last_inbound_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["channel", "address_hash"], name="conv_channel_address_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.channel} conversation {self.pk}"


class InboundMessage(models.Model):
    """A message from a person (an SMS or an email), on its conversation and its contact's
    timeline, with the outbound message it answers where one was found."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    answers = models.ForeignKey(
        "messaging.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        help_text="The outbound message this replies to, where one was found.",
    )
    channel = models.CharField(max_length=8)
    from_address = models.CharField(max_length=500)
    subject = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    keyword = models.CharField(max_length=16, blank=True, choices=SmsKeyword.choices)
    provider = models.CharField(max_length=64, blank=True)
    provider_message_id = models.CharField(max_length=300, blank=True, unique=True, null=True)
    simulated = models.BooleanField(default=False, help_text="Made by the sandbox simulator in admin.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-received_at",)
        verbose_name = "inbound message"
        verbose_name_plural = "inbox"
        permissions = [
            ("reply_inboundmessage", "Can reply to an inbound message (support)"),
            ("link_inboundmessage", "Can link an inbound message from an unknown sender to a contact"),
            ("simulate_inboundmessage", "Can simulate an inbound SMS in sandbox mode"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} reply {self.pk}"


class ContactImport(models.Model):
    """A CSV of contacts a marketer uploaded: checked first (its report says what an import
    would do, row by row), then imported once. Kept as the record of who brought which people
    in and on what consent evidence."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=200, blank=True)
    csv_text = models.TextField()
    report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.file_name or str(self.id)
