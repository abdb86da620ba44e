"""Writing contacts: one upsert path for the API's PUT and for bulk CRM syncs (thousands per
request), with a fixed number of queries per batch and one audit record per contact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Actor, AuditEntry, audit_append_many
from hub.contacts.models import Contact, Device

PROFILE_FIELDS = ("email", "phone", "locale", "timezone", "attributes")


@dataclass(frozen=True)
class DeviceData:
    kind: str
    token: str
    subscription: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactData:
    """A validated contact (the API serializer has normalised addresses and checked the zone).
    ``devices`` None leaves the contact's devices as they are; a list replaces them."""

    external_id: str
    email: str = ""
    phone: str = ""
    locale: str = ""
    timezone: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    devices: Sequence[DeviceData] | None = None


@dataclass
class UpsertReport:
    created: list[Contact] = field(default_factory=list)
    updated: list[Contact] = field(default_factory=list)

    @property
    def contacts(self) -> list[Contact]:
        return self.created + self.updated


def contacts_upsert(*, items: Sequence[ContactData], actor: Actor) -> UpsertReport:
    """Create or update contacts by ``external_id`` (the last of duplicates wins), all or none.

    On return every contact exists with exactly the given profile; devices are replaced where
    given (a device no longer listed is marked removed, not deleted). Each contact gets one
    audit record naming the fields that changed, never their values.
    """
    try:
        return _upsert(items, actor)
    except IntegrityError:
        # A concurrent request created one of these contacts first: the retry updates it.
        return _upsert(items, actor)


def _upsert(items: Sequence[ContactData], actor: Actor) -> UpsertReport:
    latest = {item.external_id: item for item in items}
    report = UpsertReport()
    now = timezone.now()
    with transaction.atomic():
        existing = {
            c.external_id: c for c in Contact.objects.select_for_update().filter(external_id__in=list(latest))
        }
        changed: dict[str, list[str]] = {}
        to_update: list[Contact] = []
        to_create: list[Contact] = []
        for external_id, item in latest.items():
            contact = existing.get(external_id)
            if contact is None:
                to_create.append(Contact(external_id=external_id, **_profile(item)))
                changed[external_id] = [name for name in PROFILE_FIELDS if getattr(item, name)]
                continue
            names = [name for name, value in _profile(item).items() if getattr(contact, name) != value]
            for name in names:
                setattr(contact, name, _profile(item)[name])
            contact.updated_at = now
            changed[external_id] = names
            to_update.append(contact)
        Contact.objects.bulk_create(to_create, batch_size=1000)
        if to_create and to_create[0].pk is None:  # a backend that does not return ids
            ids = dict(
                Contact.objects.filter(external_id__in=[c.external_id for c in to_create]).values_list(
                    "external_id", "pk"
                )
            )
            for contact in to_create:
                contact.pk = ids[contact.external_id]
        Contact.objects.bulk_update(to_update, [*PROFILE_FIELDS, "updated_at"], batch_size=1000)
        report.created, report.updated = to_create, to_update
        device_changes = _devices_replace(
            {c.pk: latest[c.external_id].devices for c in report.contacts}, now=now
        )
        audit_append_many(
            AuditEntry(
                actor,
                "contact.created" if contact in to_create else "contact.updated",
                "contact",
                str(contact.pk),
                {"fields": changed[contact.external_id], "devices": device_changes.get(contact.pk, {})},
            )
            for contact in report.contacts
        )
    return report


def _profile(item: ContactData) -> dict[str, Any]:
    return {
        "email": item.email,
        "phone": item.phone,
        "locale": item.locale,
        "timezone": item.timezone,
        "attributes": dict(item.attributes),
    }


def _devices_replace(
    wanted: Mapping[int, Sequence[DeviceData] | None], *, now: Any
) -> dict[int, dict[str, int]]:
    """Make each contact's active devices exactly the given ones; returns added/removed counts."""
    targets = {pk: devices for pk, devices in wanted.items() if devices is not None}
    if not targets:
        return {}
    active: dict[int, dict[tuple[str, str], Device]] = {pk: {} for pk in targets}
    for device in Device.objects.filter(contact_id__in=list(targets), removed_at__isnull=True):
        active[device.contact_id][(device.kind, device.token)] = device
    create: list[Device] = []
    update: list[Device] = []
    counts: dict[int, dict[str, int]] = {}
    for pk, devices in targets.items():
        assert devices is not None  # noqa: S101 - filtered above
        given = {(d.kind, d.token): d for d in devices}
        current = active[pk]
        for key, data in given.items():
            if key in current:
                if dict(current[key].subscription) != dict(data.subscription):
                    current[key].subscription = dict(data.subscription)
                    update.append(current[key])
            else:
                create.append(
                    Device(
                        contact_id=pk, kind=data.kind, token=data.token, subscription=dict(data.subscription)
                    )
                )
        gone = [device for key, device in current.items() if key not in given]
        for device in gone:
            device.removed_at = now
            update.append(device)
        counts[pk] = {"added": sum(1 for k in given if k not in current), "removed": len(gone)}
    Device.objects.bulk_create(create, batch_size=1000)
    Device.objects.bulk_update(update, ["subscription", "removed_at"], batch_size=1000)
    return counts
