"""Writes made by the workspace: every export of personal data, and every change to staff
accounts and groups, is recorded in the audit trail (who, what, before, after)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from audit.digests import address_digest, digest_key_id
from audit.services import Actor, audit_append
from hub.contacts.models import Contact
from hub.workspace.evidence import evidence_pack_build
from hub.workspace.search import MessageFilters
from hub.workspace.template_evidence import template_evidence_pack_build
from templates_app.models import Template


def evidence_pack_export(*, contact: Contact, actor: Actor) -> bytes:
    """Build one contact's evidence pack and record who took it. Returns the zip's bytes."""
    pack = evidence_pack_build(contact=contact)
    audit_append(
        actor=actor,
        action="evidence_pack.exported",
        object_type="contact",
        object_id=contact.pk,
        payload={"bytes": len(pack)},
    )
    return pack


def template_evidence_pack_export(
    *, template: Template, actor: Actor, since: datetime | None = None, until: datetime | None = None
) -> bytes:
    """Build one template's evidence pack and record who took it, and for which period."""
    pack = template_evidence_pack_build(template=template, since=since, until=until)
    audit_append(
        actor=actor,
        action="evidence_pack.exported",
        object_type="template",
        object_id=template.pk,
        payload={
            "bytes": len(pack),
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
    )
    return pack


def messages_export_record(*, filters: MessageFilters, actor: Actor) -> None:
    """Record that someone exported the messages matching ``filters`` (the address digested)."""
    described = {k: str(v) for k, v in dataclasses.asdict(filters).items() if v}
    if "address" in described:
        described["address"] = address_digest(described["address"])
        described["digest_key"] = digest_key_id()
    audit_append(
        actor=actor,
        action="messages.exported",
        object_type="workspace",
        object_id="messages",
        payload=described,
    )


def staff_change_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Record a change to a staff user or group: ``before``/``after`` snapshots, only the fields
    that changed (both None-safe: creation has no before, deletion no after)."""
    before, after = dict(before or {}), dict(after or {})
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if not changed and action.endswith(".changed"):
        return
    with transaction.atomic():
        audit_append(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload={
                "changed": changed,
                "before": {k: before[k] for k in changed if k in before},
                "after": {k: after[k] for k in changed if k in after},
            },
        )
