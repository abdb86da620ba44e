"""What the authorisation tests share: the API's routes as the URL resolver lists them, keys
that are never rate limited, and a snapshot of every row an API call could change."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from audit.models import AuditRecord
from hub.apikeys.models import ApiKey, IdempotencyRecord
from hub.apikeys.services import IssuedKey, apikey_create
from hub.broadcasts.models import Broadcast, BroadcastRecipient
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint
from hub.contacts.models import ConsentEntry, Contact, Device, Suppression
from hub.messaging.models import Message, MessageEvent, Notification

API_PREFIX = "api/v1/"
# Callback URLs the URL-safety check lets through without DNS: loopback, which the tests'
# settings allow (production refuses it), never reached (no delivery runs in these tests).
CALLBACK_A = "https://127.0.0.1:9/hook"
CALLBACK_B = "https://127.0.0.2:9/hook"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PROBLEM = "application/problem+json"


def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            found.append((prefix + str(pattern.pattern), pattern))
    return found


def api_routes() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every API route: name -> (path pattern, the methods its view answers)."""
    routes = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(API_PREFIX):
            view = pattern.callback.cls  # type: ignore[attr-defined]
            methods = tuple(m for m in METHODS if hasattr(view, m.lower()))
            routes[str(pattern.name)] = (route, methods)
    return routes


def api_operations() -> set[tuple[str, str]]:
    return {(name, method) for name, (_, methods) in api_routes().items() for method in methods}


def make_key(name: str, scopes: list[str] | None = None) -> IssuedKey:
    """A key whose rate limit never answers first (these tests make many requests per key)."""
    issued = apikey_create(name=name, scopes=scopes)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(
        rate_limit_burst=100_000, rate_limit_per_minute=100_000
    )
    return issued


SNAPSHOT_MODELS: tuple[type[Model], ...] = (
    Notification,
    Message,
    MessageEvent,
    Broadcast,
    BroadcastRecipient,
    CallbackEndpoint,
    CallbackDelivery,
    Contact,
    Device,
    ConsentEntry,
    Suppression,
    IdempotencyRecord,
    AuditRecord,
)


def db_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row (every column) an API call could create, change or delete."""
    return {m._meta.label: list(m._default_manager.order_by("pk").values_list()) for m in SNAPSHOT_MODELS}


def url(name: str, args: dict[str, str]) -> str:
    route = api_routes()[name][0]
    return reverse(name, kwargs={k: v for k, v in args.items() if f"<{k}>" in route or f":{k}>" in route})


def call(client: APIClient, method: str, path: str, body: Any = None) -> Any:
    if method == "GET":
        return client.get(path)
    data = "" if body is None else json.dumps(body)
    return client.generic(method, path, data=data, content_type="application/json")
