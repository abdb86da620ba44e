"""Status callbacks: the URL an API key registered, and each signed delivery of events to it."""

from __future__ import annotations

import secrets

from django.db import models

from hub.callbacks.safety import validate_callback_url
from hub.ids import uuid7


def new_signing_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class CallbackEndpoint(models.Model):
    api_key = models.OneToOneField(
        "apikeys.ApiKey", on_delete=models.CASCADE, related_name="callback_endpoint"
    )
    url = models.URLField(
        max_length=500,
        validators=[validate_callback_url],
        help_text="Status events are POSTed here (https in production).",
    )
    secret = models.CharField(
        max_length=100, default=new_signing_secret, help_text="Signs every delivery (HMAC-SHA256)."
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    suspended_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the endpoint kept failing; nothing is sent until resumed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.api_key_id} → {self.url}"

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    ABANDONED = "abandoned", "Abandoned (retried for the whole retry window)"


class CallbackDelivery(models.Model):
    """One POST of a batch of status events to one endpoint, with its retries."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    endpoint = models.ForeignKey(CallbackEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    events = models.JSONField(help_text="The events, as POSTed: {'events': [...]}.")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name_plural = "callback deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_due_idx")]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"
