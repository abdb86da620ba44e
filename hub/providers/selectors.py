"""Reads about providers for admin and webhooks."""

from __future__ import annotations

from dataclasses import dataclass

from hub.contacts.keywords import SmsKeyword
from hub.providers.health import ProviderHealth, provider_health
from hub.providers.models import SmsKeywordReplies
from hub.providers.registry import channel_entries


def keyword_replies_current() -> SmsKeywordReplies:
    """The keyword replies in force: the newest row, or the defaults (unsaved) if none."""
    return SmsKeywordReplies.objects.order_by("-updated_at").first() or SmsKeywordReplies()


def keyword_reply(keyword: SmsKeyword) -> str:
    """The text to answer a keyword with (configured in admin; empty: no reply)."""
    replies = keyword_replies_current()
    return {
        SmsKeyword.HELP: replies.help_reply,
        SmsKeyword.OPT_OUT: replies.opt_out_reply,
        SmsKeyword.OPT_IN: replies.opt_in_reply,
    }.get(keyword, "")


@dataclass(frozen=True)
class RoutedProvider:
    """A provider as routing sees it now: its place in the channel's order, and its health."""

    name: str
    backend: str
    configured_priority: int
    position: int
    health: ProviderHealth


def routing_overview() -> dict[str, list[RoutedProvider]]:
    """Every channel's providers in the order traffic goes to them now: healthy ones by
    priority, then demoted ones."""
    overview: dict[str, list[RoutedProvider]] = {}
    for channel in ("sms", "email", "push"):
        entries = channel_entries(channel)
        states = [(index, entry, provider_health(entry["NAME"])) for index, entry in enumerate(entries)]
        ordered = sorted(states, key=lambda s: (s[2].demoted, s[0]))
        overview[channel] = [
            RoutedProvider(
                entry["NAME"], entry["BACKEND"].rsplit(".", 1)[-1], index + 1, position + 1, health
            )
            for position, (index, entry, health) in enumerate(ordered)
        ]
    return overview
