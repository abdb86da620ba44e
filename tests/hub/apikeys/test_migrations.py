"""The data migration that split contacts into three scopes keeps what each existing key could
do with contacts, and nothing it could not."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps

from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_capabilities

split = import_module("hub.apikeys.migrations.0003_scopes_contacts_split")

CONTACTS = {"contacts:read", "contacts:write", "contacts:erase"}
# Scopes before the split -> the contacts capabilities the key held then.
BEFORE = {
    "unrestricted": ([], CONTACTS),
    "crm-sync": (["read", "contacts:write"], CONTACTS),
    "crm-writer": (["contacts:write"], {"contacts:write", "contacts:erase"}),
    "sender": (["send", "template:order.shipped"], set()),
    "dashboard": (["read"], set()),
}


@pytest.mark.django_db
def test_existing_keys_keep_their_contacts_access() -> None:
    """Before the split ``contacts:write`` also erased (DELETE) and ``read``/``send`` read any
    contact; a key that held ``contacts:write`` keeps reading (if it could read) and erasing.
    Reading contacts with only ``read`` or ``send`` was the hole SPEC §4 closes: not kept."""
    for name, (scopes, _) in BEFORE.items():
        ApiKey.objects.create(name=name, prefix=name, key_hash="x", scopes=scopes)
    split.keep_contacts_access(apps, None)
    for name, (scopes, contacts) in BEFORE.items():
        key = ApiKey.objects.get(name=name)
        assert apikey_capabilities(api_key=key) & CONTACTS == contacts, name
        assert set(scopes) <= set(key.scopes), name


@pytest.mark.django_db
def test_going_back_narrows_rather_than_widens() -> None:
    """Undone, a key limited to the new scopes must not become an unrestricted key (which an
    empty or unknown-only list means to the older code)."""
    for name, scopes in {"reader": ["contacts:read"], "dpo": ["contacts:erase"]}.items():
        ApiKey.objects.create(name=name, prefix=name, key_hash="x", scopes=scopes)
    split.undo_contacts_split(apps, None)
    assert ApiKey.objects.get(name="reader").scopes == ["read"]
    assert ApiKey.objects.get(name="dpo").scopes == ["contacts:write"]
