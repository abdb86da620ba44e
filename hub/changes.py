"""Operator changes to what steers sending (API keys, providers, keyword replies, fallback
policies): saved together with an audit record of the values before and after.

Each kind has its own service that validates first; they all save through ``audited_save``
and ``audited_delete`` so that every such record has the same shape:
``{<label>..., "before": {...}, "after": {...}}`` holding only the fields that changed (all
of them on creation and deletion), with anything that looks like a credential masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from django.db import models, transaction

from audit.services import Actor, audit_append

M = TypeVar("M", bound=models.Model)

# Keys whose values are never written to the audit trail, at any depth of a value.
SECRET_MARKERS = ("token", "secret", "password", "key", "credential", "sid", "private", "auth")
MASK = "***"


def masked(value: Any) -> Any:
    """``value`` with the values of secret-looking keys (in any nested mapping) replaced."""
    if isinstance(value, Mapping):
        return {
            k: MASK if any(m in str(k).lower() for m in SECRET_MARKERS) else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def _values(obj: models.Model | None, fields: Sequence[str]) -> dict[str, Any]:
    if obj is None:
        return {}
    # Stored values: a foreign key is recorded by its id.
    attnames = {f.name: f.attname for f in obj._meta.concrete_fields}
    return {name: getattr(obj, attnames[name]) for name in fields}


def audited_save(
    *,
    obj: M,
    fields: Sequence[str],
    actor: Actor,
    object_type: str,
    label: Mapping[str, Any] | None = None,
    previous: M | None = None,
) -> M:
    """Validate (``full_clean``) and save ``obj``, appending ``<object_type>.created`` or
    ``.changed`` with the before and after values of those of ``fields`` that changed, in one
    transaction. ``previous`` is what a new row replaces (else the saved row, locked). Saving
    with no change writes no record. Raises ValidationError (nothing saved)."""
    obj.full_clean()
    with transaction.atomic():
        created = obj.pk is None
        if not created:
            previous = type(obj)._default_manager.select_for_update().filter(pk=obj.pk).first()
        before, after = _values(previous, fields), _values(obj, fields)
        changed = [name for name in fields if created or before.get(name) != after[name]]
        obj.save()
        if changed:
            audit_append(
                actor=actor,
                action=f"{object_type}.{'created' if created else 'changed'}",
                object_type=object_type,
                object_id=obj.pk,
                payload={
                    **(label or {}),
                    "before": masked({n: before[n] for n in changed if n in before}),
                    "after": masked({n: after[n] for n in changed}),
                },
            )
    return obj


def audited_delete(
    *, obj: models.Model, fields: Sequence[str], actor: Actor, object_type: str, label: Mapping[str, Any]
) -> None:
    """Delete ``obj`` and append ``<object_type>.deleted`` with its last values, together."""
    with transaction.atomic():
        pk = obj.pk
        before = _values(obj, fields)
        obj.delete()
        audit_append(
            actor=actor,
            action=f"{object_type}.deleted",
            object_type=object_type,
            object_id=pk,
            payload={**label, "before": masked(before), "after": {}},
        )
