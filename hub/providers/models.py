"""The sandbox outbox: what would have left the machine, kept for people to look at."""

from __future__ import annotations

from django.db import models


class SandboxOutboxEntry(models.Model):
    provider = models.CharField(max_length=64)
    channel = models.CharField(max_length=8)
    provider_message_id = models.CharField(max_length=64, unique=True)
    message_id = models.CharField(max_length=64, db_index=True)
    to = models.CharField(max_length=500)
    content = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "sandbox outbox entry"
        verbose_name_plural = "sandbox outbox"

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_message_id}"
