"""Providers per channel, built lazily from ``settings.HUB_PROVIDERS`` (priority order)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from hub.providers.base import Provider


@cache
def channel_providers(channel: str) -> tuple[Provider, ...]:
    """The configured providers for a channel, highest priority first."""
    entries: list[dict[str, Any]] = settings.HUB_PROVIDERS.get(channel, [])
    providers = []
    for entry in entries:
        cls = import_string(entry["BACKEND"])
        providers.append(cls(entry["NAME"], **dict(entry.get("OPTIONS", {}))))
    return tuple(providers)


def provider_for(channel: str) -> Provider:
    """The provider to use now for a channel (failover between several arrives with routing)."""
    providers = channel_providers(channel)
    if not providers:
        raise LookupError(f"No provider is configured for channel {channel!r}.")
    return providers[0]


@cache
def sandbox_provider(channel: str) -> Provider:
    """The sandbox for a channel, whatever is configured: test API keys always send here."""
    from hub.providers.sandbox import SandboxProvider

    return SandboxProvider(f"sandbox-{channel}", channel=channel)


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "HUB_PROVIDERS":
        channel_providers.cache_clear()
