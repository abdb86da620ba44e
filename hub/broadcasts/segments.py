"""A broadcast to an attribute segment, built from fields in admin: conditions (attribute,
operator, value) compile to the attribute filter the API takes (``audience.attribute_filter_query``
reads both), and a draft shows the audience count and the compliance forecast before Start.

The count is one indexed query (the GIN index on ``contacts.attributes``, contacts/0009). The
forecast decides, with the same engine as the send, the first ``FORECAST_SAMPLE`` matching
contacts (all of them in a smaller segment) and says so: deciding a million contacts in the
request would take minutes. The audience itself is fixed when the broadcast starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.broadcasts.audience import ATTRIBUTE_NAME, attribute_filter_query
from hub.broadcasts.drafts import DraftSettings, broadcast_draft_new
from hub.broadcasts.errors import BroadcastRejected
from hub.broadcasts.forecast import broadcast_rows_check
from hub.broadcasts.models import AudienceKind, Broadcast, BroadcastRecipient, RecipientState
from hub.contacts.models import Contact
from hub.contacts.selectors import contact_attribute_kinds

FORECAST_SAMPLE = 5000
# The operators a condition may use, in words.
OPERATORS = {
    "is": "is",
    "in": "is one of",
    "set": "is set",
    "gte": "is at least",
    "lte": "is at most",
}
YES, NO = {"yes", "true"}, {"no", "false"}


@dataclass(frozen=True)
class Condition:
    attribute: str
    operator: str
    value: str = ""


def _typed(name: str, raw: str, kinds: set[str], field: str) -> Any:
    """A typed value as the attribute holds it, or BroadcastRejected saying the type is wrong."""
    text = raw.strip()
    if "number" in kinds and kinds <= {"number"}:
        try:
            number = float(text)
        except ValueError:
            raise BroadcastRejected(
                "wrong_type", f"'{name}' holds numbers; '{text}' is not a number.", field=field
            ) from None
        return int(number) if number.is_integer() else number
    if kinds == {"boolean"}:
        if text.lower() not in YES | NO:
            raise BroadcastRejected("wrong_type", f"'{name}' is yes or no; '{text}' is neither.", field=field)
        return text.lower() in YES
    return text


def segment_compile(conditions: Sequence[Condition]) -> dict[str, Any]:
    """The attribute filter for these conditions (all must hold), checked against the contacts:
    an attribute no contact has, an unknown operator, or a value of the wrong type raises
    BroadcastRejected whose ``field`` is ``conditions-<n>-<attribute|operator|value>``."""
    compiled: dict[str, Any] = {}
    if not conditions:
        raise BroadcastRejected("no_conditions", "Add at least one condition.", field="conditions")
    for n, c in enumerate(conditions):
        prefix = f"conditions-{n}-"
        if c.operator not in OPERATORS:
            raise BroadcastRejected(
                "unknown_operator", f"'{c.operator}' is not an operator.", field=prefix + "operator"
            )
        kinds = contact_attribute_kinds(c.attribute) if ATTRIBUTE_NAME.match(c.attribute) else set()
        if not kinds:
            raise BroadcastRejected(
                "unknown_attribute",
                f"No contact has an attribute '{c.attribute}'.",
                field=prefix + "attribute",
            )
        if c.operator != "set" and not c.value.strip():
            raise BroadcastRejected("no_value", "Enter a value.", field=prefix + "value")
        earlier = compiled.get(c.attribute)
        if c.operator in ("gte", "lte"):
            if kinds != {"number"}:
                raise BroadcastRejected(
                    "wrong_type",
                    f"'{c.attribute}' holds {', '.join(sorted(kinds))}; {OPERATORS[c.operator]} compares numbers.",
                    field=prefix + "operator",
                )
            if earlier is not None and not (isinstance(earlier, dict) and f"${c.operator}" not in earlier):
                raise BroadcastRejected(
                    "repeated_attribute",
                    f"'{c.attribute}' already has a condition that this one contradicts or repeats.",
                    field=prefix + "attribute",
                )
            compiled[c.attribute] = {
                **(earlier or {}),
                f"${c.operator}": _typed(c.attribute, c.value, kinds, prefix + "value"),
            }
            continue
        if earlier is not None:
            raise BroadcastRejected(
                "repeated_attribute",
                f"'{c.attribute}' already has a condition; use 'is one of' for several values.",
                field=prefix + "attribute",
            )
        if c.operator == "set":
            compiled[c.attribute] = {"$set": True}
        elif c.operator == "in":
            values = [v for v in c.value.split(",") if v.strip()]
            compiled[c.attribute] = [_typed(c.attribute, v, kinds, prefix + "value") for v in values]
        else:
            compiled[c.attribute] = _typed(c.attribute, c.value, kinds, prefix + "value")
    attribute_filter_query(compiled)  # the engine's own check
    return compiled


def _shown(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def filter_words(attribute_filter: Mapping[str, Any]) -> str:
    """Any attribute filter (the API's too) in words: "tier is gold and orders is at least 3"."""
    said = []
    for name, value in attribute_filter.items():
        if isinstance(value, list):
            said.append(f"{name} is one of {', '.join(_shown(v) for v in value)}")
        elif isinstance(value, dict):
            said += [f"{name} is {'set' if value['$set'] else 'not set'}"] if "$set" in value else []
            said += [f"{name} is at least {value['$gte']}"] if "$gte" in value else []
            said += [f"{name} is at most {value['$lte']}"] if "$lte" in value else []
        else:
            said.append(f"{name} is {_shown(value)}")
    return " and ".join(said) or "every contact"


def segment_count(attribute_filter: Mapping[str, Any]) -> int:
    """How many contacts the filter matches now (one indexed query)."""
    return Contact.objects.filter(attribute_filter_query(attribute_filter)).order_by().count()


def segment_report(broadcast: Broadcast, *, now: datetime) -> dict[str, Any]:
    """The count and the compliance forecast of a filter broadcast, as its validation report."""
    matched = segment_count(broadcast.audience_filter)
    sample = list(
        Contact.objects.filter(attribute_filter_query(broadcast.audience_filter)).order_by()[:FORECAST_SAMPLE]
    )
    contacts = {c.external_id: c for c in sample}
    rows = [
        BroadcastRecipient(broadcast=broadcast, row=i, recipient_key=c.external_id, external_id=c.external_id)
        for i, c in enumerate(sample, start=1)
    ]
    forecast = broadcast_rows_check(broadcast, rows, contacts, now=now)
    skipped = [r for r in rows if r.state == RecipientState.SKIPPED]
    return {
        "audience": "filter",
        "matched": matched,
        "checked": len(sample),
        "rows": matched,
        "valid": matched,
        "skipped": 0,
        "skipped_in_check": len(skipped),
        "reasons": dict(Counter(r.error.split(": ")[0] for r in skipped)),
        "examples": [{"row": r.external_id, "error": r.error} for r in skipped[:50]],
        "forecast": forecast,
        "counted_at": now.isoformat(),
    }


def broadcast_segment_draft_create(
    *, settings: DraftSettings, conditions: Sequence[Condition], user_id: int | None
) -> Broadcast:
    """A draft broadcast to the contacts the conditions match, with the count and forecast
    in its validation report; started like a CSV draft (``broadcast_start``), which fixes the
    audience then. Raises BroadcastRejected and saves nothing if a condition is wrong."""
    attribute_filter = segment_compile(conditions)
    words = filter_words(attribute_filter)
    now = timezone.now()
    with transaction.atomic():
        broadcast = broadcast_draft_new(
            settings=settings,
            user_id=user_id,
            audience_kind=AudienceKind.FILTER,
            audience_filter=attribute_filter,
        )
        report = {**segment_report(broadcast, now=now), "segment": words}
        broadcast.validation_report = report
        broadcast.total = report["matched"]
        broadcast.save(update_fields=["validation_report", "total"])
        audit_append(
            actor=Actor.user(user_id) if user_id else Actor.system(),
            action="broadcast.segment_drafted",
            object_type="broadcast",
            object_id=broadcast.id,
            payload={
                "template": settings.template.key,
                "attributes": sorted(attribute_filter),
                "matched": report["matched"],
            },
        )
    return broadcast
