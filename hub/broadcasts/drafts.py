"""A draft broadcast made in admin (from a CSV or a segment): the settings both share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.broadcasts.models import Broadcast
from templates_app.models import Template


@dataclass(frozen=True)
class DraftSettings:
    name: str
    template: Template
    channels: list[str] = field(default_factory=list)
    routing: str = "first"
    rate_per_minute: int | None = None
    send_at: datetime | None = None


def broadcast_draft_new(
    *, settings: DraftSettings, user_id: int | None, audience_kind: str, **audience: Any
) -> Broadcast:
    """Save the draft row with its audience fields (``csv_text``, ``audience_filter``...).
    The caller holds the transaction and writes the audit record."""
    return Broadcast.objects.create(
        name=settings.name,
        created_by_id=user_id,
        template=settings.template,
        channels=list(settings.channels),
        routing=settings.routing,
        rate_per_minute=settings.rate_per_minute,
        send_at=settings.send_at,
        audience_kind=audience_kind,
        **audience,
    )
