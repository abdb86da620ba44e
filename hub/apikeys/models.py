"""API keys: stored as a SHA-256 digest of a high-entropy secret, shown once at creation."""

from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, for lookup.")
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(
        default=list,
        blank=True,
        help_text="Empty: may send any template. Otherwise e.g. ['send', 'category:transactional'].",
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
