"""How long ago, in words a person reads: "just now" and "under a minute" rather than Django's
"0 minutes" for anything younger than a minute (seen on every home right after a submission)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


def _young(value: datetime) -> bool:
    return (timezone.now() - value).total_seconds() < 60


@register.filter
def age(value: datetime | None) -> str:
    """How long something has been waiting: "under a minute", "3 hours, 2 minutes"."""
    if not value:
        return ""
    return "under a minute" if _young(value) else timesince(value)


@register.filter
def ago(value: datetime | None) -> str:
    """When something happened: "just now", "3 hours ago"."""
    if not value:
        return ""
    return "just now" if _young(value) else f"{timesince(value)} ago"
