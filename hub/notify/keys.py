"""Notify-format API keys: creating them and checking a request's JWT against them.

A key is ``{name}-{service_id}-{secret}`` (Notify's clients read the last 73 characters: the
service id, a dash, the secret). Each request carries a fresh HS256 JWT signed with the
secret, ``iss`` the service id and ``iat`` within 30 seconds of our clock.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.db import transaction

from audit.services import Actor, audit_append
from hub.apikeys.services import apikey_create
from hub.notify.models import KeyType, NotifyKey

CLOCK_SKEW_SECONDS = 30
JWT_DOCS = "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
GENERAL_JWT_ERROR = f"Invalid token: make sure your API token matches the example at {JWT_DOCS}"
CLOCK_ERROR = "Error: Your system clock must be accurate to within 30 seconds"


class NotifyAuthError(Exception):
    """Notify's ``AuthError``: ``status`` 401 (no usable header) or 403 (a bad token)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class IssuedNotifyKey:
    notify_key: NotifyKey
    raw: str  # shown once; never stored


def _secret(key_id: uuid.UUID, server_secret: str) -> str:
    digest = hmac.new(
        server_secret.encode(), b"hub.notify.key-secret:" + str(key_id).encode(), "sha256"
    ).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _server_secrets() -> list[str]:
    # Keys made before a SECRET_KEY rotation keep working while the old value is listed in
    # SECRET_KEY_FALLBACKS, as Django's own signed values do.
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def notify_key_secret(notify_key: NotifyKey) -> str:
    """The key's current secret (what its holder signs tokens with)."""
    return _secret(notify_key.key_id, settings.SECRET_KEY)


def notify_key_create(
    *,
    name: str,
    key_type: str = KeyType.NORMAL,
    service_id: uuid.UUID | None = None,
    scopes: list[str] | None = None,
    rate_limit_per_minute: int | None = None,
    daily_quota: int | None = None,
    actor: Actor | None = None,
) -> IssuedNotifyKey:
    """Create a Switchboard API key in Notify's format; ``raw`` is the only time it is shown.

    ``service_id`` joins an existing Notify service (keys sharing it see each other's
    notifications, test keys only test ones); by default the key starts a new service. A
    ``test`` key sends only through the sandbox. Raises InvalidScope (nothing created)."""
    if key_type not in KeyType.values:
        raise ValueError(f"Unknown key type '{key_type}': use {', '.join(KeyType.values)}.")
    with transaction.atomic():
        issued = apikey_create(
            name=name,
            scopes=scopes,
            actor=actor,
            is_test=key_type == KeyType.TEST,
            rate_limit_per_minute=rate_limit_per_minute,
            daily_quota=daily_quota,
        )
        notify_key = NotifyKey.objects.create(
            api_key=issued.api_key, service_id=service_id or uuid.uuid4(), key_type=key_type
        )
        audit_append(
            actor=actor or Actor.system(),
            action="apikey.notify_format",
            object_type="apikey",
            object_id=issued.api_key.pk,
            payload={"service_id": str(notify_key.service_id), "key_type": key_type},
        )
    slug = "_".join(name.lower().split()) or "key"
    raw = f"{slug}-{notify_key.service_id}-{notify_key_secret(notify_key)}"
    return IssuedNotifyKey(notify_key, raw)


def _claims_unverified(token: str) -> dict[str, object]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False}, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise NotifyAuthError(GENERAL_JWT_ERROR) from exc
    if not isinstance(claims, dict):
        raise NotifyAuthError(GENERAL_JWT_ERROR)
    return claims


def _signed_by(token: str, secret: str) -> dict[str, object] | None:
    """The token's claims if ``secret`` signed it, else None. Raises NotifyAuthError for a
    token signed with another algorithm."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise NotifyAuthError(GENERAL_JWT_ERROR) from exc
    if header.get("alg") != "HS256":
        raise NotifyAuthError("Invalid token: algorithm used is not HS256")
    try:
        # iat is checked below with Notify's own message, both ways.
        return dict(
            jwt.decode(
                token,
                key=secret,
                algorithms=["HS256"],
                options={"verify_iat": False, "verify_exp": False, "verify_nbf": False},
            )
        )
    except jwt.InvalidSignatureError:
        return None
    except jwt.PyJWTError as exc:
        raise NotifyAuthError(GENERAL_JWT_ERROR) from exc


def notify_key_authenticate(*, token: str, now: float | None = None) -> NotifyKey:
    """The Notify key whose secret signed ``token``. Raises NotifyAuthError with Notify's own
    message: a wrong or missing ``iss``, no key signing it, a revoked key, or an ``iat`` more
    than 30 seconds from our clock."""
    claims = _claims_unverified(token)
    if "iss" not in claims:
        raise NotifyAuthError("Invalid token: iss field not provided")
    try:
        service_id = uuid.UUID(str(claims["iss"]))
    except ValueError as exc:
        raise NotifyAuthError("Invalid token: service id is not the right data type") from exc
    keys = list(NotifyKey.objects.filter(service_id=service_id).select_related("api_key"))
    if not keys:
        raise NotifyAuthError("Invalid token: service not found")
    for notify_key in keys:
        for server_secret in _server_secrets():
            verified = _signed_by(token, _secret(notify_key.key_id, server_secret))
            if verified is None:
                continue
            _check_iat(verified, now=time.time() if now is None else now)
            if notify_key.api_key.revoked_at is not None:
                raise NotifyAuthError("Invalid token: API key revoked")
            return notify_key
    raise NotifyAuthError("Invalid token: API key not found")


def _check_iat(claims: dict[str, object], *, now: float) -> None:
    if "iat" not in claims:
        raise NotifyAuthError("Invalid token: iat field not provided")
    try:
        iat = int(float(str(claims["iat"])))
    except ValueError as exc:
        raise NotifyAuthError(GENERAL_JWT_ERROR) from exc
    if abs(int(now) - iat) > CLOCK_SKEW_SECONDS:
        raise NotifyAuthError(CLOCK_ERROR)
