"""Fallback policies (how long a channel may take before the next is tried): read when
messages are made (``fallback_waits``, ``fallback_deadline``), changed by staff (validated and
audited with the values before and after)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from audit.services import Actor
from hub.changes import audited_delete, audited_save
from hub.messaging.models import FallbackPolicy, Routing

POLICY_FIELDS = ("template", "channel", "wait_seconds")


def fallback_waits(template_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each template's policy (template id → channel → seconds to wait for delivery), in one
    query; a template without a policy maps to nothing."""
    waits: dict[int, dict[str, int]] = defaultdict(dict)
    ids = set(template_ids)
    if ids:
        rows = FallbackPolicy.objects.filter(template_id__in=ids).values_list(
            "template_id", "channel", "wait_seconds"
        )
        for template_id, channel, seconds in rows:
            waits[template_id][channel] = seconds
    return waits


def fallback_deadline(
    waits: dict[str, int], *, channel: str, channels: Sequence[str], routing: str, start: datetime
) -> datetime | None:
    """When a message on ``channel`` must be delivered by before the next channel is tried,
    or None (routing ``all``, the last channel, or no policy for this channel)."""
    if routing != Routing.FIRST or channel not in waits or channel == channels[-1]:
        return None
    return start + timedelta(seconds=waits[channel])


def fallback_policy_save(*, policy: FallbackPolicy, actor: Actor) -> None:
    """Save a new or edited policy (the wait is 1 second to 7 days), audited as
    ``fallback_policy.created``/``.changed``. Raises ValidationError (nothing saved)."""
    audited_save(
        obj=policy,
        fields=POLICY_FIELDS,
        actor=actor,
        object_type="fallback_policy",
        label={"template": policy.template.key},
    )


def fallback_policy_delete(*, policy: FallbackPolicy, actor: Actor) -> None:
    """Remove a policy (the channel then waits for nothing: no timed fallback); audited."""
    audited_delete(
        obj=policy,
        fields=POLICY_FIELDS,
        actor=actor,
        object_type="fallback_policy",
        label={"template": policy.template.key},
    )
