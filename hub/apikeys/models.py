"""API keys: stored as a SHA-256 digest of a high-entropy secret, shown once at creation.

Also the idempotency records that make a retried ``POST`` safe (one per key and
``Idempotency-Key`` header value).
"""

from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, for lookup.")
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Empty: may do everything. Capabilities: 'read', 'send', 'contacts:read', "
            "'contacts:write', 'contacts:erase', 'events' (a key with only 'read' is read-only). Limits on "
            "what may be sent: 'category:<category>', 'template:<key>' (any one matching is "
            "enough; limits without a capability make a sending key)."
        ),
    )
    is_test = models.BooleanField(
        default=False, help_text="A test key: its messages always go to the sandbox providers."
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        default=3000, help_text="Requests per minute (token bucket, refilled continuously)."
    )
    rate_limit_burst = models.PositiveIntegerField(
        default=60, help_text="How many requests may arrive at once on a full bucket."
    )
    daily_quota = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Notifications (and broadcast recipients) per UTC day; empty: no quota.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # DRF's IsAuthenticated asks the authenticated "user" this.
    @property
    def is_authenticated(self) -> bool:
        return True


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", "In flight"
    DONE = "done", "Done"


class IdempotencyRecord(models.Model):
    """The first request made with one ``Idempotency-Key`` by one API key, and its answer.

    The unique constraint is what serialises concurrent duplicates: exactly one request
    inserts the row and runs; the others find it in flight (409) or done (replay).
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and canonical body.")
    state = models.CharField(
        max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.IN_FLIGHT
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_content_type = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    locked_at = models.DateTimeField(help_text="When the request that owns the key started running.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_per_api_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
