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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["service_id", "key_type", "notification"], name="notify_listing_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.notification_id}"
