"""Creating, finding and revoking API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.apikeys.models import ApiKey

KEY_PREFIX = "sb"
SCOPES = ("send", "read", "contacts:write")


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw: str  # shown once; never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def apikey_create(*, name: str, scopes: list[str] | None = None, actor: Actor | None = None) -> IssuedKey:
    """Create a key; the returned ``raw`` value is the only time the secret exists in clear."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    raw = f"{KEY_PREFIX}_{prefix}_{secret}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            name=name, prefix=prefix, key_hash=_digest(raw), scopes=list(scopes or [])
        )
        audit_append(
            actor=actor or Actor.system(),
            action="apikey.created",
            object_type="apikey",
            object_id=api_key.pk,
            payload={"name": name, "prefix": prefix, "scopes": api_key.scopes},
        )
    return IssuedKey(api_key, raw)


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


def apikey_authenticate(*, raw: str) -> ApiKey | None:
    """The active key whose secret is ``raw``, or None. Comparison is constant-time."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    api_key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _digest(raw)):
        return None
    return api_key
