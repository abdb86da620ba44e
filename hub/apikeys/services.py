"""Creating, finding, editing and revoking API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.apikeys.models import ApiKey, IdempotencyRecord
from hub.changes import audited_save
from hub.generations import GenerationCache, generation

KEY_PREFIX = "sb"
APIKEYS_GENERATION = "apikeys"
# Capabilities a key may be limited to (SPEC §4); a key that lists none has all of them.
CAPABILITIES = ("send", "read", "contacts:read", "contacts:write", "contacts:erase", "events")
SCOPES = CAPABILITIES  # kept for callers of the foundation's name
# Limits on what a key may send: any one matching is enough.
SEND_LIMIT_PREFIXES = ("category:", "template:")
# How stale ``last_used_at`` may get: written at most this often per key, not per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidScope(ValueError):
    """A scope that is neither a capability nor a send limit."""


def scopes_validate(scopes: list[str]) -> list[str]:
    """The scopes, de-duplicated in order; raises InvalidScope naming the first bad one."""
    seen: list[str] = []
    for scope in scopes:
        scope = scope.strip()
        is_limit = scope.startswith(SEND_LIMIT_PREFIXES) and scope.split(":", 1)[1] != ""
        if scope not in CAPABILITIES and not is_limit:
            raise InvalidScope(
                f"Unknown scope '{scope}': use {', '.join(CAPABILITIES)}, category:<category> or "
                "template:<key>."
            )
        if scope not in seen:
            seen.append(scope)
    return seen


@dataclass(frozen=True)
class ScopeChoices:
    """A key's scopes as a person chooses them: capabilities ticked, and what sending is limited
    to (categories, template keys; none: any template)."""

    capabilities: tuple[str, ...]
    categories: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()


def scopes_compose(choices: ScopeChoices) -> list[str]:
    """The scopes (SPEC §4) for what was chosen, validated as scopes_validate does. Raises
    InvalidScope when sending is limited but not allowed: such limits would grant nothing."""
    limits = [f"category:{c}" for c in choices.categories] + [f"template:{k}" for k in choices.templates]
    if limits and choices.capabilities and "send" not in choices.capabilities:
        raise InvalidScope("Limits on what may be sent need the 'send' capability ticked.")
    return scopes_validate([*choices.capabilities, *limits])


def scopes_choices(scopes: object) -> ScopeChoices:
    """What a key's stored scopes mean, as choices (the inverse of scopes_compose): no capability
    listed is every capability, or only sending when only limits are listed."""
    listed = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
    limits = [s for s in listed if s.startswith(SEND_LIMIT_PREFIXES)]
    capabilities = [s for s in listed if s in CAPABILITIES] or (["send"] if limits else list(CAPABILITIES))
    return ScopeChoices(
        capabilities=tuple(capabilities),
        categories=tuple(s.split(":", 1)[1] for s in limits if s.startswith("category:")),
        templates=tuple(s.split(":", 1)[1] for s in limits if s.startswith("template:")),
    )


def _is_scope_list(scopes: object) -> bool:
    return isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)


def apikey_capabilities(*, api_key: ApiKey) -> frozenset[str]:
    """What the key may do. A key with no scopes at all may do everything; a key that lists
    only send limits (``template:``/``category:``) is a sending key: ``send``, nothing more
    (a limit to one template must never open the contacts). Anything stored that is not a
    list of strings (an operator's ``{}`` or ``""`` in the admin) grants nothing: only ``[]``
    means everything."""
    if not _is_scope_list(api_key.scopes):
        return frozenset()
    listed = frozenset(s for s in api_key.scopes if s in CAPABILITIES)
    if listed:
        return listed
    return frozenset({"send"}) if api_key.scopes else frozenset(CAPABILITIES)


def apikey_has_capability(*, api_key: ApiKey, capability: str) -> bool:
    """Whether the key holds this capability (see apikey_capabilities)."""
    return capability in apikey_capabilities(api_key=api_key)


def apikey_may_send(*, api_key: ApiKey, template_key: str, category: str) -> bool:
    """Whether the key may send this template: it has the ``send`` capability and, if it lists
    ``category:``/``template:`` limits, one of them matches."""
    if not apikey_has_capability(api_key=api_key, capability="send"):
        return False
    limits = [s for s in api_key.scopes if s.startswith(SEND_LIMIT_PREFIXES)]
    return not limits or f"category:{category}" in limits or f"template:{template_key}" in limits


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw: str  # shown once; never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def apikey_create(
    *,
    name: str,
    scopes: list[str] | None = None,
    actor: Actor | None = None,
    is_test: bool = False,
    rate_limit_per_minute: int | None = None,
    rate_limit_burst: int | None = None,
    daily_quota: int | None = None,
) -> IssuedKey:
    """Create a key; the returned ``raw`` value is the only time the secret exists in clear.

    Raises InvalidScope (and creates nothing) for an unknown scope. A test key sends only
    through the sandbox providers, whatever is configured.
    """
    scopes = scopes_validate(list(scopes or []))
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    raw = f"{KEY_PREFIX}_{prefix}_{secret}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            name=name,
            prefix=prefix,
            key_hash=_digest(raw),
            scopes=scopes,
            is_test=is_test,
            daily_quota=daily_quota,
            **({"rate_limit_per_minute": rate_limit_per_minute} if rate_limit_per_minute else {}),
            **({"rate_limit_burst": rate_limit_burst} if rate_limit_burst else {}),
        )
        audit_append(
            actor=actor or Actor.system(),
            action="apikey.created",
            object_type="apikey",
            object_id=api_key.pk,
            payload={
                "name": name,
                "prefix": prefix,
                "scopes": api_key.scopes,
                "is_test": is_test,
                "rate_limit_per_minute": api_key.rate_limit_per_minute,
                "rate_limit_burst": api_key.rate_limit_burst,
                "daily_quota": daily_quota,
            },
        )
    return IssuedKey(api_key, raw)


# What an operator may change on an existing key (never its secret or prefix).
EDITABLE_FIELDS = ("name", "scopes", "is_test", "rate_limit_per_minute", "rate_limit_burst", "daily_quota")
POSITIVE_FIELDS = ("rate_limit_per_minute", "rate_limit_burst", "daily_quota")


def apikey_settings_validate(*, api_key: ApiKey) -> None:
    """Check an edited key's scopes and limits, normalising its scopes in place. Raises
    ValidationError naming each bad field: an unknown scope, a limit or quota below 1 (a
    key that must stop is revoked, not throttled to nothing)."""
    errors: dict[str, str] = {}
    scopes: object = api_key.scopes
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        errors["scopes"] = 'Scopes must be a list of strings, e.g. ["send", "read"] (empty: everything).'
    else:
        try:
            api_key.scopes = scopes_validate(scopes)
        except InvalidScope as exc:
            errors["scopes"] = str(exc)
    for name in POSITIVE_FIELDS:
        value = getattr(api_key, name)
        if value is not None and value < 1:
            errors[name] = "Must be at least 1; to stop a key, revoke it."
    if errors:
        raise ValidationError(errors)


def apikey_update(*, api_key: ApiKey, actor: Actor) -> None:
    """Save an operator's edit of ``api_key`` (validated as apikey_settings_validate says),
    with an ``apikey.changed`` audit record of the fields' values before and after. Raises
    ValidationError (nothing saved or recorded)."""
    apikey_settings_validate(api_key=api_key)
    audited_save(
        obj=api_key,
        fields=EDITABLE_FIELDS,
        actor=actor,
        object_type="apikey",
        label={"prefix": api_key.prefix},
    )


def apikey_revoke(*, api_key: ApiKey, actor: Actor) -> None:
    """Revoke at once: the next request with this key is refused."""
    with transaction.atomic():
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_append(
            actor=actor,
            action="apikey.revoked",
            object_type="apikey",
            object_id=api_key.pk,
            payload={"prefix": api_key.prefix},
        )


# Active keys by prefix, per process, while the "apikeys" generation holds: any saved or
# deleted key (a revocation, a scope or limit edited) bumps it, so every process reads again.
_ACTIVE_KEYS: GenerationCache[ApiKey] = GenerationCache(APIKEYS_GENERATION)


def _prefix(raw: str) -> str | None:
    """The public part of a key in our format (``sb_<prefix>_<secret>``), else None."""
    parts = raw.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == KEY_PREFIX else None


def _is_secret_of(api_key: ApiKey, raw: str) -> bool:
    return hmac.compare_digest(api_key.key_hash, _digest(raw))


def apikey_authenticate(*, raw: str) -> ApiKey | None:
    """The active key whose secret is ``raw``, or None. Comparison is constant-time. The key
    row is cached per process (see hub.generations): a revoked key is refused at once."""
    prefix = _prefix(raw)
    if prefix is None:
        return None
    current = generation(APIKEYS_GENERATION)
    api_key = _ACTIVE_KEYS.get(prefix, current)
    if api_key is None:
        api_key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
        if api_key is not None:
            _ACTIVE_KEYS.put(prefix, api_key, current)
    if api_key is None or not _is_secret_of(api_key, raw):
        return None
    return api_key


def apikey_held(*, raw: str) -> tuple[ApiKey, int] | None:
    """The key this process holds in its cache for ``raw``, if ``raw`` is its secret, and the
    ``apikeys`` generation it was cached under; no round trip, no query. It is what
    apikey_authenticate answers only while that generation is current: act on it only where
    the generation is checked in the same step (hub.api.throttling's rate token)."""
    prefix = _prefix(raw)
    held = None if prefix is None else _ACTIVE_KEYS.held(prefix)
    if held is None or not _is_secret_of(held[0], raw):
        return None
    return held


def apikey_mark_used(*, api_key: ApiKey) -> None:
    """Set ``last_used_at`` to now unless it is already less than LAST_USED_RESOLUTION old.

    At most one write per key a minute however busy the key: none while the loaded value is
    fresh, and the UPDATE is conditional, so web processes racing on one key write once.
    """
    now = timezone.now()
    stale = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at > stale:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale)
    ).update(last_used_at=now)
    api_key.last_used_at = now


def idempotency_records_purge() -> int:
    """Delete idempotency records older than ``HUB_IDEMPOTENCY_TTL_HOURS``; returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.HUB_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
