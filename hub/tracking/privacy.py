"""Tracking data is personal data: what retention purges, what erasure removes, what the
evidence pack shows. Links (their URLs may carry personal data), hits (when, from which
network, with which browser) and conversions (which goal event) of given messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Q

from hub.messaging.lifecycle import FINAL_STATUSES
from hub.tracking.models import Conversion, TrackedLink, TrackingHit


def tracking_erase(*, message_ids: Iterable[UUID | str]) -> int:
    """Remove the tracking data of these messages (erasure); returns rows removed. The
    engagement counts in the rollups and the timeline events (no personal data) stay."""
    ids = list(message_ids)
    removed = TrackingHit.objects.filter(message_id__in=ids).delete()[0]
    removed += TrackedLink.objects.filter(message_id__in=ids).delete()[0]
    removed += Conversion.objects.filter(message_id__in=ids).delete()[0]
    return removed


def tracking_purge(*, channel: str, cutoff: datetime) -> int:
    """Retention: the tracking data of the channel's finished messages created before
    ``cutoff`` (their links stop working: the safe page), and hits and conversions older
    than it; returns rows removed."""
    old_messages = Q(message__channel=channel, message__created_at__lt=cutoff) & Q(
        message__status__in=FINAL_STATUSES
    )
    removed = TrackingHit.objects.filter(Q(message__channel=channel, at__lt=cutoff) | old_messages).delete()[
        0
    ]
    removed += TrackedLink.objects.filter(old_messages).delete()[0]
    removed += Conversion.objects.filter(
        Q(message__channel=channel, occurred_at__lt=cutoff) | old_messages
    ).delete()[0]
    return removed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def tracking_evidence(*, message_ids: Iterable[UUID | str]) -> dict[str, list[dict[str, Any]]]:
    """The tracking data of these messages, for the evidence pack."""
    ids = list(message_ids)
    links = TrackedLink.objects.filter(message_id__in=ids).order_by("message_id", "kind", "position")
    hits = TrackingHit.objects.filter(message_id__in=ids).select_related("link").order_by("at", "id")
    conversions = Conversion.objects.filter(message_id__in=ids).order_by("occurred_at", "id")
    return {
        "links": [
            {
                "message": str(link.message_id),
                "kind": link.kind,
                "position": link.position,
                "label": link.label,
                "url": link.url,
                "created_at": _iso(link.created_at),
            }
            for link in links
        ],
        "hits": [
            {
                "message": str(hit.message_id),
                "kind": hit.kind,
                "position": hit.link.position,
                "at": _iso(hit.at),
                "machine": hit.machine,
                "machine_reason": hit.machine_reason,
                "user_agent": hit.user_agent,
                "ip_prefix": hit.ip_prefix,
            }
            for hit in hits
        ],
        "conversions": [
            {
                "message": str(c.message_id),
                "event": str(c.event_id),
                "event_name": c.event_name,
                "delivered_at": _iso(c.delivered_at),
                "occurred_at": _iso(c.occurred_at),
                "journey_version": c.journey_version_id,
            }
            for c in conversions
        ],
    }
