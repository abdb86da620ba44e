"""Fallback policies (how long a channel may take before the next is tried), changed by
staff: validated and audited with the values before and after."""

from __future__ import annotations

from audit.services import Actor
from hub.changes import audited_delete, audited_save
from hub.messaging.models import FallbackPolicy

POLICY_FIELDS = ("template", "channel", "wait_seconds")


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
