"""The GOV.UK Notify-compatible API's own rows: its keys (a Switchboard API key plus Notify's
service id and key type) and, per notification made through ``/v2/``, what Notify's
responses need that the hub's notification does not hold."""

from __future__ import annotations

import uuid

from django.db import models


class KeyType(models.TextChoices):
    """Notify's key types: ``normal`` sends to anyone; ``team`` only to the team's own
    (verified staff) addresses; ``test`` never leaves the sandbox."""

    NORMAL = "normal", "Live"
    TEAM = "team", "Team and guest list"
    TEST = "test", "Test"


class NotifyKey(models.Model):
    """A key in Notify's format, ``{name}-{service_id}-{secret}``.

    The secret is not stored: it is derived from ``key_id`` with the server's ``SECRET_KEY``
    (HS256 needs the secret itself to check a token, so a stored hash would not do), so a copy
    of the database alone cannot sign requests. Scopes, rate limits, quota and revocation are
    the linked ``ApiKey``'s, as for every other key.
    """

    api_key = models.OneToOneField("apikeys.ApiKey", on_delete=models.CASCADE, related_name="notify_key")
    key_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service_id = models.UUIDField(
        db_index=True,
        help_text="Notify's service id: keys sharing one see each other's notifications (by key type).",
    )
    key_type = models.CharField(max_length=8, choices=KeyType.choices, default=KeyType.NORMAL)
    # Sends to Notify's simulated recipients go through the intake under this test key, so
    # dispatch keeps them in the sandbox (made when first needed; see hub.notify.simulated).
    simulation_key = models.OneToOneField(
        "apikeys.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "Notify API key"

    def __str__(self) -> str:
        return f"{self.api_key.name} ({self.key_type}, service {self.service_id})"


class NotifyNotification(models.Model):
    """A notification accepted through ``/v2/``: whose service it is and what the caller sent
    that Notify echoes back (its ``reference`` is up to 1,000 characters)."""

    notification = models.OneToOneField(
        "messaging.Notification", on_delete=models.CASCADE, primary_key=True, related_name="notify"
    )
    service_id = models.UUIDField()
    key_type = models.CharField(max_length=8, choices=KeyType.choices)
    type = models.CharField(max_length=8, help_text="sms or email")
    reference = models.CharField(max_length=1000, blank=True)
    one_click_unsubscribe_url = models.CharField(max_length=2000, blank=True)
    sms_sender = models.ForeignKey(
        "SmsSender", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email_reply_to = models.ForeignKey(
        "EmailReplyTo", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["service_id", "key_type", "notification"], name="notify_listing_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.notification_id}"


class SmsSender(models.Model):
    """An SMS sender a Notify client may name with ``sms_sender_id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sms_sender = models.CharField(max_length=15, help_text="A number in E.164 or an alphanumeric sender id.")
    is_default = models.BooleanField(default=False, help_text="Shown as from_number when none is named.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SMS sender (Notify API)"
        verbose_name_plural = "SMS senders (Notify API)"  # not "SMS sender (Notify API)s"
        ordering = ("-is_default", "sms_sender")

    def __str__(self) -> str:
        return self.sms_sender


class EmailReplyTo(models.Model):
    """An email reply-to address a Notify client may name with ``email_reply_to_id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email_address = models.EmailField()
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "email reply-to address (Notify API)"
        verbose_name_plural = "email reply-to addresses (Notify API)"
        ordering = ("-is_default", "email_address")

    def __str__(self) -> str:
        return self.email_address
