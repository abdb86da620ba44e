"""How long ago, in words a person reads: "just now" and "under a minute" rather than Django's
"0 minutes" for anything younger than a minute (seen on every home right after a submission).
The wording is ``audit.admin_base.age_words``, which the approval queue uses too."""

from __future__ import annotations

from datetime import datetime

from django import template

from audit.admin_base import age_words

register = template.Library()


@register.filter
def age(value: datetime | None) -> str:
    """How long something has been waiting: "under a minute", "3 hours, 2 minutes"."""
    return age_words(value) if value else ""


@register.filter
def ago(value: datetime | None) -> str:
    """When something happened: "just now", "3 hours ago"."""
    if not value:
        return ""
    words = age_words(value)
    return "just now" if words == "under a minute" else f"{words} ago"
