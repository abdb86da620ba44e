"""Operators' changes to provider routing, provider health and the SMS keyword replies: each
validated and saved with an audit record of the values before and after."""

from __future__ import annotations

from django.db import transaction

from audit.services import Actor, audit_append
from hub.changes import audited_delete, audited_save
from hub.providers.health import provider_health, provider_health_reset
from hub.providers.models import ProviderConfig, SmsKeywordReplies
from hub.providers.registry import registry_reset
from hub.providers.selectors import keyword_replies_current

PROVIDER_FIELDS = ("name", "channel", "backend", "priority", "enabled", "options")
KEYWORD_REPLY_FIELDS = ("help_reply", "opt_out_reply", "opt_in_reply")


def provider_config_save(*, config: ProviderConfig, actor: Actor) -> None:
    """Save a new or edited provider row (validated by ``ProviderConfig.clean``: no secrets
    in options, numeric options positive, backend fits the channel), audited as
    ``provider.created``/``provider.changed``; routing picks it up at once. Raises
    ValidationError (nothing saved)."""
    audited_save(
        obj=config, fields=PROVIDER_FIELDS, actor=actor, object_type="provider", label={"name": config.name}
    )
    registry_reset()


def provider_config_delete(*, config: ProviderConfig, actor: Actor) -> None:
    """Remove a provider row (its channel falls back to the rest, or to settings); audited."""
    audited_delete(
        obj=config, fields=PROVIDER_FIELDS, actor=actor, object_type="provider", label={"name": config.name}
    )
    registry_reset()


def provider_restore(*, name: str, actor: Actor) -> None:
    """Forget a provider's failures (it is no longer demoted), audited as
    ``provider.restored`` with the health it had."""
    state = provider_health(name)
    provider_health_reset(name)
    with transaction.atomic():
        audit_append(
            actor=actor,
            action="provider.restored",
            object_type="provider",
            object_id=name,
            payload={
                "name": name,
                "before": {
                    "demoted": state.demoted,
                    "demoted_reason": state.demoted_reason,
                    "calls": state.calls,
                    "errors": state.errors,
                },
                "after": {"demoted": False},
            },
        )


def sms_keyword_replies_save(*, replies: SmsKeywordReplies, actor: Actor) -> None:
    """Save the keyword replies (a new row replaces the newest one), audited with the
    replies before and after. Raises ValidationError (nothing saved): the HELP reply must
    say how to opt out."""
    previous = keyword_replies_current() if replies.pk is None else None
    audited_save(
        obj=replies,
        fields=KEYWORD_REPLY_FIELDS,
        actor=actor,
        object_type="sms_keyword_replies",
        previous=previous,
    )


def sms_keyword_replies_delete(*, replies: SmsKeywordReplies, actor: Actor) -> None:
    """Delete a keyword-replies row (the newest remaining one, or the defaults, apply); audited."""
    audited_delete(
        obj=replies, fields=KEYWORD_REPLY_FIELDS, actor=actor, object_type="sms_keyword_replies", label={}
    )
