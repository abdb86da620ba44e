"""Authorisation matrix of the REST API (issue 9, item 11).

Every route the URL resolver lists under ``/api/v1/`` must have an entry in ``ACCESS``: which
capability each of its methods needs and whose objects it touches. ``SCOPE_SETS`` says, apart
from the code under test, which capabilities each kind of key holds (SPEC §4). Then, route by route:
another key never sees or changes a key's notifications, messages, broadcasts or callback
endpoint (it gets exactly the answer an unknown id gets, so existence does not leak); a key
without the capability is refused with 403 on every route; a revoked, unknown or malformed key
gets 401. Every refusal is problem+json and leaves every row as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import CAPABILITIES, apikey_has_capability, apikey_revoke
from tests.factories import ORDER_DATA, key_client
from tests.figures import Record
from tests.hub.security.api import (
    CALLBACK_B,
    METHODS,
    PROBLEM,
    api_operations,
    call,
    db_snapshot,
    make_key,
    url,
)

READ = frozenset({"read", "send"})  # a sending service may follow what it sent
SEND = frozenset({"send"})
CONTACTS_READ = frozenset({"contacts:read"})
CONTACTS_WRITE = frozenset({"contacts:write"})
CONTACTS_ERASE = frozenset({"contacts:erase"})
EVENTS = frozenset({"events"})
READ_ONLY = frozenset({"read"})  # figures for BI tools: a sending key does not get them

OWNED = "owned"  # objects of the key that created them: ids in the path
OWN = "own"  # the calling key's own object, no id (its callback endpoint)
SHARED = "shared"  # hub-wide data (contacts, live templates), SPEC §2: one ledger for all


@dataclass(frozen=True)
class Access:
    needs: frozenset[str]  # any one of these capabilities is enough
    kind: str = ""


# (route name, method) -> who may call it. A route added later without an entry fails
# test_every_api_operation_is_in_the_matrix.
ACCESS: dict[tuple[str, str], Access] = {
    ("notification-create", "POST"): Access(SEND),
    ("notification-batch", "POST"): Access(SEND),
    ("event-create", "POST"): Access(EVENTS),
    ("event-batch", "POST"): Access(EVENTS),
    ("journey-run-detail", "GET"): Access(EVENTS, OWNED),
    ("journey-run-cancel", "POST"): Access(EVENTS, OWNED),
    ("notification-detail", "GET"): Access(READ, OWNED),
    ("notification-cancel", "POST"): Access(SEND, OWNED),
    ("message-detail", "GET"): Access(READ, OWNED),
    ("template-list", "GET"): Access(READ, SHARED),
    ("report-template", "GET"): Access(READ_ONLY, SHARED),
    ("contact-bulk", "POST"): Access(CONTACTS_WRITE, SHARED),
    ("contact-detail", "GET"): Access(CONTACTS_READ, SHARED),
    ("contact-detail", "PUT"): Access(CONTACTS_WRITE, SHARED),
    ("contact-detail", "DELETE"): Access(CONTACTS_ERASE, SHARED),
    ("contact-consents", "POST"): Access(CONTACTS_WRITE, SHARED),
    ("contact-preferences", "GET"): Access(CONTACTS_READ, SHARED),
    ("contact-preferences", "PUT"): Access(CONTACTS_WRITE, SHARED),
    ("broadcast-create", "POST"): Access(SEND),
    ("broadcast-detail", "GET"): Access(READ, OWNED),
    ("broadcast-cancel", "POST"): Access(SEND, OWNED),
    ("broadcast-pause", "POST"): Access(SEND, OWNED),
    ("broadcast-resume", "POST"): Access(SEND, OWNED),
    ("callback-endpoint", "GET"): Access(READ, OWN),
    ("callback-endpoint", "PUT"): Access(SEND, OWN),
    ("callback-endpoint", "DELETE"): Access(SEND, OWN),
}

EVERY_CAPABILITY = frozenset({"read", "send", "contacts:read", "contacts:write", "contacts:erase", "events"})


@dataclass(frozen=True)
class ScopeSet:
    scopes: list[str]
    holds: frozenset[str]  # the capabilities a key with these scopes has, as SPEC §4 says


# Scope sets another key may have: every capability alone, all of them, and send limits (which
# make a sending key: limits alone never grant contacts).
SCOPE_SETS = {
    "all": ScopeSet([], EVERY_CAPABILITY),
    "read": ScopeSet(["read"], frozenset({"read"})),
    "send": ScopeSet(["send"], frozenset({"send"})),
    "contacts-read": ScopeSet(["contacts:read"], CONTACTS_READ),
    "contacts-write": ScopeSet(["contacts:write"], CONTACTS_WRITE),
    "contacts-erase": ScopeSet(["contacts:erase"], CONTACTS_ERASE),
    "contacts-all": ScopeSet(
        ["contacts:read", "contacts:write", "contacts:erase"],
        CONTACTS_READ | CONTACTS_WRITE | CONTACTS_ERASE,
    ),
    "events": ScopeSet(["events"], EVENTS),
    "send-transactional": ScopeSet(["send", "category:transactional"], frozenset({"send"})),
    "send-this-template": ScopeSet(["template:order.shipped"], frozenset({"send"})),
    "send-this-template-and-read": ScopeSet(["send", "template:order.shipped"], frozenset({"send"})),
}
# Values that make a request harmless for a key that passes the scope check: ids nobody has,
# and a body every strict serializer refuses (400 before anything is written).
UNKNOWN_ARGS = {
    "notification_id": str(uuid.UUID(int=1)),
    "message_id": str(uuid.UUID(int=2)),
    "broadcast_id": str(uuid.UUID(int=3)),
    "external_id": "nobody-has-this-id",
    "run_id": str(uuid.UUID(int=4)),
    "key": "no.such.template",
}
INVALID_BODY = {"not_a_field": True}
HOSTILE_BODY = {"status": "cancelled", "api_key": 1, "url": "https://evil.example/hook"}


def may(scope_set: ScopeSet, access: Access) -> bool:
    return bool(scope_set.holds & access.needs)


def test_the_scope_sets_hold_what_the_hub_grants() -> None:
    """The table above and the hub agree (checked apart from any request), and the table
    covers every capability the hub knows."""
    for name, scope_set in SCOPE_SETS.items():
        key = ApiKey(scopes=scope_set.scopes)
        granted = {c for c in CAPABILITIES if apikey_has_capability(api_key=key, capability=c)}
        assert granted == scope_set.holds, name
    assert set(CAPABILITIES) == EVERY_CAPABILITY


def test_every_api_operation_is_in_the_matrix() -> None:
    assert set(ACCESS) == api_operations()


@pytest.mark.django_db
def test_the_owner_reads_its_own_objects(owner_objects: dict[str, Any]) -> None:
    """The positive control: the ids used below are real and visible to the key that made them."""
    client, args = owner_objects["client"], owner_objects["args"]
    for name, method in ACCESS:
        if ACCESS[name, method].kind in (OWNED, OWN) and method == "GET":
            assert client.get(url(name, args)).status_code == 200, name


@pytest.mark.django_db
@pytest.mark.parametrize("scope_set", SCOPE_SETS.values(), ids=SCOPE_SETS.keys())
def test_another_key_gets_what_an_unknown_id_gets(
    owner_objects: dict[str, Any], scope_set: ScopeSet, figure: Record
) -> None:
    """Key B tries every method on every route that names key A's object: the answer equals the
    answer for an id nobody has (404 not_found, or 403/405 before the id is looked at), and no
    row changes."""
    other = make_key("other-b", scope_set.scopes)
    client = key_client(other)
    before = db_snapshot()
    wrong: list[tuple[Any, ...]] = []
    for (name, _), access in ACCESS.items():
        if access.kind != OWNED:
            continue
        for method in METHODS:
            theirs = call(client, method, url(name, owner_objects["args"]), HOSTILE_BODY)
            nobodys = call(client, method, url(name, UNKNOWN_ARGS), HOSTILE_BODY)
            answer = (theirs.status_code, theirs["Content-Type"], theirs.json().get("code"))
            if answer != (nobodys.status_code, nobodys["Content-Type"], nobodys.json().get("code")):
                wrong.append((name, method, "differs from unknown id", answer))
            allowed = (name, method) in ACCESS
            expected = (404 if may(scope_set, ACCESS[name, method]) else 403) if allowed else None
            if theirs["Content-Type"] != PROBLEM or (expected and theirs.status_code != expected):
                wrong.append((name, method, expected, answer))
            if not allowed and theirs.status_code not in (403, 405):
                wrong.append((name, method, "403/405", answer))
    tried = sum(1 for access in ACCESS.values() if access.kind == OWNED) * len(METHODS)
    figure("requests on another key's objects", tried)
    figure("answers unlike an unknown id's, or not refused", len(wrong))
    assert wrong == []
    assert db_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("scope_set", SCOPE_SETS.values(), ids=SCOPE_SETS.keys())
def test_another_key_never_reaches_the_owners_callback_endpoint(
    owner_objects: dict[str, Any], scope_set: ScopeSet
) -> None:
    """The callback endpoint has no id: each key only ever addresses its own. B reading or
    removing finds nothing; B registering makes B's own; A's stays as it was."""
    from hub.callbacks.models import CallbackEndpoint

    owner = owner_objects["key"].api_key
    theirs = CallbackEndpoint.objects.values().get(api_key=owner)
    client = key_client(other := make_key("other-b", scope_set.scopes))
    for method, body in (("GET", None), ("DELETE", None), ("PUT", {"url": CALLBACK_B})):
        response = call(client, method, "/api/v1/callback", body)
        if not may(scope_set, ACCESS["callback-endpoint", method]):
            assert response.status_code == 403, method
        elif method == "PUT":
            assert response.status_code == 200 and response.json()["url"] == CALLBACK_B
            assert response.json()["secret"] != theirs["secret"]
        else:
            assert response.status_code == 404, method
    assert CallbackEndpoint.objects.values().get(api_key=owner) == theirs
    assert CallbackEndpoint.objects.exclude(api_key=owner).exclude(api_key=other.api_key).count() == 0


@pytest.mark.django_db
def test_an_idempotency_key_is_per_api_key(owner_objects: dict[str, Any]) -> None:
    """B reusing A's Idempotency-Key gets its own notification, never A's answer replayed."""
    body = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA}
    first = owner_objects["client"].post(
        "/api/v1/notifications", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = key_client(make_key("other-b")).post(
        "/api/v1/notifications", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == second.status_code == 202
    assert second.json()["id"] != first.json()["id"] and "Idempotent-Replayed" not in second


@pytest.mark.django_db
@pytest.mark.parametrize("scope_set", SCOPE_SETS.values(), ids=SCOPE_SETS.keys())
def test_a_key_without_the_capability_is_refused_on_every_route(
    live_template: Any, scope_set: ScopeSet, figure: Record
) -> None:
    """403 forbidden, naming the missing scope (for reads too, where one scope is needed),
    wherever the capability is missing; never 403 where it is present. Nothing changes either
    way (unknown ids, refused bodies)."""
    issued = make_key("scoped", scope_set.scopes)
    client = key_client(issued)
    before = db_snapshot()
    wrong: list[tuple[Any, ...]] = []
    for (name, method), access in ACCESS.items():
        response = call(client, method, url(name, UNKNOWN_ARGS), INVALID_BODY)
        if may(scope_set, access):
            if response.status_code in (401, 403):
                wrong.append((name, method, "allowed", response.status_code))
            continue
        body = response.json()
        if (response.status_code, response["Content-Type"], body.get("code")) != (403, PROBLEM, "forbidden"):
            wrong.append((name, method, "refused", response.status_code, body))
        elif access.needs != READ and not any(f"'{c}'" in body["detail"] for c in access.needs):
            wrong.append((name, method, "names the scope", body["detail"]))
    figure("operations refused for a missing capability", sum(not may(scope_set, a) for a in ACCESS.values()))
    figure("answers not as the scopes say", len(wrong))
    assert wrong == []
    assert db_snapshot() == before


CREDENTIALS = {
    "revoked": "revoked",
    "unknown": "sb_000000000000_not-a-real-secret",
    "wrong-secret": "wrong-secret",
    "malformed": "not a key",
    "basic-scheme": "basic",
    "none": None,
}


@pytest.mark.django_db
@pytest.mark.parametrize("credential", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_an_invalid_key_gets_401_on_every_route(
    owner_objects: dict[str, Any], credential: str | None, figure: Record
) -> None:
    """A revoked key (even on its own objects), an unknown or tampered one, another scheme or
    none: 401 unauthenticated problem+json with WWW-Authenticate, and nothing changes."""
    owner = owner_objects["key"]
    client = APIClient()
    if credential == "revoked":
        apikey_revoke(api_key=owner.api_key, actor=Actor.system())
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw}")
    elif credential == "wrong-secret":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw[:-4]}AAAA")
    elif credential == "basic":
        client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    elif credential is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")
    before = db_snapshot()
    wrong: list[tuple[Any, ...]] = []
    for name, method in ACCESS:
        response = call(client, method, url(name, owner_objects["args"]), HOSTILE_BODY)
        answer = (response.status_code, response["Content-Type"], response.json().get("code"))
        if answer != (401, PROBLEM, "unauthenticated") or "Bearer" not in response.get(
            "WWW-Authenticate", ""
        ):
            wrong.append((name, method, answer))
    figure("operations answered 401", len(ACCESS) - len(wrong))
    assert wrong == []
    assert db_snapshot() == before


@pytest.mark.django_db
def test_status_callbacks_carry_only_the_keys_own_messages(owner_objects: dict[str, Any]) -> None:
    """One lifecycle batch moving messages of three keys: A's endpoint gets only A's, B's only
    B's, and C (no endpoint) has its events sent nowhere."""
    from hub.callbacks.models import CallbackDelivery
    from hub.messaging.lifecycle import Change, messages_transition
    from hub.messaging.models import Message, MessageStatus

    body = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA}
    body["send_at"] = "2999-01-01T00:00:00Z"
    b, c = make_key("other-b"), make_key("other-c")
    assert key_client(b).put("/api/v1/callback", {"url": CALLBACK_B}, format="json").status_code == 200
    mine = {
        key.api_key.pk: {
            m["id"]
            for m in key_client(key).post("/api/v1/notifications", body, format="json").json()["messages"]
        }
        for key in (b, c)
    }
    mine[owner_objects["key"].api_key.pk] = {owner_objects["args"]["message_id"]}
    CallbackDelivery.objects.all().delete()
    everything = list(Message.objects.values_list("id", flat=True))
    messages_transition(
        [Change(i, MessageStatus.CANCELLED) for i in everything], actor=Actor.system(), source="test"
    )
    got = {
        d.endpoint.api_key_id: {e["message_id"] for e in d.events["events"]}
        for d in CallbackDelivery.objects.select_related("endpoint")
    }
    a = owner_objects["key"].api_key.pk
    assert got == {a: mine[a], b.api_key.pk: mine[b.api_key.pk]}
