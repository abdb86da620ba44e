"""Which providers carry a channel, in which order.

The list comes from the ``ProviderConfig`` rows operators edit in admin (enabled rows by
priority); a channel with no rows uses ``settings.HUB_PROVIDERS``. Instances are built
lazily and reused while their configuration is unchanged, so HTTP sessions and OAuth tokens
live as long as the worker. Health reorders the list: demoted providers go last, except
the one whose probe is due.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from hub.providers.base import OutboundMessage, Provider
from hub.providers.health import provider_health, provider_may_probe

logger = logging.getLogger(__name__)

# Rows are read at most this often per process: an admin change reaches workers within it.
CONFIG_TTL_SECONDS = 5.0

_lock = threading.Lock()
_instances: dict[str, Provider] = {}
_entries_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}
_providers_cache: dict[str, tuple[list[dict[str, Any]], tuple[Provider, ...]]] = {}


def _settings_entries(channel: str) -> list[dict[str, Any]]:
    return list(settings.HUB_PROVIDERS.get(channel, []))


def _row_entries(channel: str) -> list[dict[str, Any]] | None:
    from hub.providers.models import ProviderConfig

    rows = list(ProviderConfig.objects.filter(channel=channel).order_by("priority", "name"))
    if not rows:
        return None
    defaults = {e["NAME"]: e for entries in settings.HUB_PROVIDERS.values() for e in entries}
    entries = []
    for row in rows:
        if not row.enabled:
            continue
        base = defaults.get(row.name, {})
        options = {**dict(base.get("OPTIONS", {})), **dict(row.options or {})}
        if row.backend.endswith("SandboxProvider"):
            options.setdefault("channel", channel)
        entries.append({"NAME": row.name, "BACKEND": row.backend, "OPTIONS": options})
    return entries


def channel_entries(channel: str) -> list[dict[str, Any]]:
    """The configured entries for a channel (NAME, BACKEND, OPTIONS), highest priority first."""
    now = time.monotonic()
    cached = _entries_cache.get(channel)
    if cached is not None and now - cached[0] < CONFIG_TTL_SECONDS:
        return cached[1]
    rows = _row_entries(channel)
    entries = rows if rows is not None else _settings_entries(channel)
    _entries_cache[channel] = (now, entries)
    return entries


def _instance(entry: dict[str, Any]) -> Provider:
    key = json.dumps([entry["NAME"], entry["BACKEND"], entry.get("OPTIONS", {})], sort_keys=True, default=str)
    with _lock:
        provider = _instances.get(key)
        if provider is None:
            cls = import_string(entry["BACKEND"])
            provider = cls(entry["NAME"], **dict(entry.get("OPTIONS", {})))
            _instances[key] = provider
        return provider


def channel_providers(channel: str) -> tuple[Provider, ...]:
    """The configured providers for a channel, highest priority first (health not applied).
    Looked up once per configuration read, not per message."""
    entries = channel_entries(channel)
    cached = _providers_cache.get(channel)
    if cached is not None and cached[0] is entries:
        return cached[1]
    providers = tuple(_instance(entry) for entry in entries)
    _providers_cache[channel] = (entries, providers)
    return providers


def providers_for(message: OutboundMessage, *, demoted_now: dict[str, bool] | None = None) -> list[Provider]:
    """The providers to try for a message, in order: a demoted one whose probe is due (so the
    probe really tests it), the healthy ones by priority, then the other demoted ones (a last
    resort, never nothing). ``demoted_now`` memoises health lookups across a batch."""
    candidates = [p for p in channel_providers(message.channel) if p.accepts(message)]
    memo = {} if demoted_now is None else demoted_now
    healthy: list[Provider] = []
    probing: list[Provider] = []
    demoted: list[Provider] = []
    for provider in candidates:
        if provider.name not in memo:
            memo[provider.name] = provider_health(provider.name).demoted
        if not memo[provider.name]:
            healthy.append(provider)
        elif not probing and provider_may_probe(provider.name):
            probing.append(provider)
        else:
            demoted.append(provider)
    return probing + healthy + demoted


def provider_for(channel: str) -> Provider:
    """The first configured provider of a channel."""
    providers = channel_providers(channel)
    if not providers:
        raise LookupError(f"No provider is configured for channel {channel!r}.")
    return providers[0]


def registry_reset() -> None:
    """Forget cached configuration and instances (after an admin change, in tests)."""
    with _lock:
        _instances.clear()
        _entries_cache.clear()
        _providers_cache.clear()


def backends_preload() -> None:
    """Import the provider modules the settings name. A prefork worker calls this before it
    forks, so its children share one copy of each module (and of the SDKs they import) instead
    of each child importing its own on its first send. The settings only: no database access
    before a fork; a backend that does not import is left for its first use to report."""
    for entries in settings.HUB_PROVIDERS.values():
        for entry in entries:
            try:
                import_string(entry["BACKEND"])
            except Exception:  # noqa: BLE001 - the worker must start; the first send reports it
                logger.warning("provider backend %s did not import before the fork", entry["BACKEND"])


@cache
def sandbox_provider(channel: str) -> Provider:
    """The sandbox for a channel, whatever is configured: test API keys always send here."""
    from hub.providers.sandbox import SandboxProvider

    return SandboxProvider(f"sandbox-{channel}", channel=channel)


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "HUB_PROVIDERS":
        registry_reset()
