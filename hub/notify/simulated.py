"""GOV.UK Notify's simulated recipients: accepted like any send, never sent.

Notify documents these numbers and addresses for load and integration tests; code moving
from Notify still uses them. A send to one goes through the intake as usual (compliance,
lifecycle, audit) but under the key's companion *test* key, which dispatch always sends
through the sandbox. The companion is made when first needed and is audited like any key;
what the caller may send is still decided by the caller's own key (checked before)."""

from __future__ import annotations

from django.db import transaction

from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_create
from hub.notify.models import NotifyKey

# Notify's documented simulated recipients (docs.notifications.service.gov.uk, "Testing").
SIMULATED_PHONE_NUMBERS = frozenset({"+447700900000", "+447700900111", "+447700900222"})
SIMULATED_EMAIL_ADDRESSES = frozenset(
    {
        "simulate-delivered@notifications.service.gov.uk",
        "simulate-delivered-2@notifications.service.gov.uk",
        "simulate-delivered-3@notifications.service.gov.uk",
    }
)


def is_simulated(*, channel: str, address: str) -> bool:
    if channel == "sms":
        return address in SIMULATED_PHONE_NUMBERS
    return address.lower() in SIMULATED_EMAIL_ADDRESSES


def simulation_key(notify_key: NotifyKey) -> ApiKey:
    """The test key a simulated send of ``notify_key`` is made with (the key itself if it is
    a test key already)."""
    if notify_key.api_key.is_test:
        return notify_key.api_key
    if notify_key.simulation_key is not None:
        return notify_key.simulation_key
    with transaction.atomic():
        locked = NotifyKey.objects.select_for_update().get(pk=notify_key.pk)
        if locked.simulation_key is None:
            main = notify_key.api_key
            locked.simulation_key = apikey_create(
                name=f"{main.name} (Notify simulated recipients)"[:100],
                scopes=list(main.scopes),
                is_test=True,
            ).api_key
            locked.save(update_fields=["simulation_key"])
    notify_key.simulation_key = locked.simulation_key
    return locked.simulation_key
