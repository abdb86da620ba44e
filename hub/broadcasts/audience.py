"""A broadcast's audience as rows: the filter on contact attributes, materialised at start, and
the writing of explicit or CSV rows with their de-duplication."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from hub.broadcasts.errors import BroadcastRejected
from hub.broadcasts.models import Broadcast, BroadcastRecipient, RecipientState
from hub.contacts.models import Contact

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")  # \Z: `$` lets a trailing newline in


OPERATORS = {"$set", "$gte", "$lte"}
# Bounds on one filter: each key is a condition, each listed value one containment test.
MAX_FILTER_KEYS = 100
MAX_FILTER_VALUES = 1000
SCALAR = (str, int, float, bool, type(None))


def _refused(name: str, detail: str) -> BroadcastRejected:
    return BroadcastRejected("invalid_filter", f"'{name}': {detail}", field=f"audience.filter.{name}")


def _condition(name: str, value: Any, *, containment: bool) -> Q:
    if isinstance(value, dict):
        if not value or set(value) - OPERATORS:
            raise BroadcastRejected(
                "invalid_filter",
                f"'{name}': an operator is one of {', '.join(sorted(OPERATORS))}.",
                field=f"audience.filter.{name}",
            )
        query = Q()
        if "$set" in value and not isinstance(value["$set"], bool):
            raise _refused(name, "$set is true (has the attribute) or false (has not).")
        if "$set" in value:
            present = Q(attributes__has_key=name)
            query &= present if value["$set"] else ~present
        for op in ("$gte", "$lte"):
            if op in value:
                if isinstance(value[op], bool) or not isinstance(value[op], int | float):
                    raise BroadcastRejected(
                        "invalid_filter", f"'{name}': {op} compares numbers.", field=f"audience.filter.{name}"
                    )
                query &= Q(**{f"attributes__{name}__{op[1:]}": value[op]})
        return query
    if not isinstance(value, SCALAR) and not (
        isinstance(value, list) and all(isinstance(one, SCALAR) for one in value)
    ):
        raise _refused(name, "a value is text, a number, true, false, null or a list of those.")
    if containment:  # PostgreSQL: JSON containment, answered by the GIN index (contacts/0009)
        if isinstance(value, list):
            any_of = Q(pk__in=[])
            for one in value:
                any_of |= Q(attributes__contains={name: one})
            return any_of
        return Q(attributes__contains={name: value})
    if isinstance(value, list):
        return Q(**{f"attributes__{name}__in": value})
    return Q(**{f"attributes__{name}": value})


def attribute_filter_query(attribute_filter: Mapping[str, Any]) -> Q:
    """``{"tier": "gold", "region": ["north", "east"], "orders": {"$gte": 3}}``: every key
    must match; a list means any of its values; an object holds operators: ``$set`` (true: the
    contact has the attribute, false: it has not), ``$gte`` / ``$lte`` (at least / at most a
    number). Keys are plain names (letters, digits, underscore). On PostgreSQL equality and
    presence compile to JSON containment and key tests (``@>``, ``?``), which the GIN index on
    ``attributes`` answers; ``$gte``/``$lte`` read the rows those leave (or every contact, if
    they stand alone)."""
    containment = connection.vendor == "postgresql"
    if len(attribute_filter) > MAX_FILTER_KEYS:
        raise BroadcastRejected(
            "invalid_filter", f"A filter has at most {MAX_FILTER_KEYS} attributes.", field="audience.filter"
        )
    values = sum(len(v) if isinstance(v, list | dict) else 1 for v in attribute_filter.values())
    if values > MAX_FILTER_VALUES:
        raise BroadcastRejected(
            "invalid_filter",
            f"A filter has at most {MAX_FILTER_VALUES} values in all.",
            field="audience.filter",
        )
    query = Q()
    for name, value in attribute_filter.items():
        if not ATTRIBUTE_NAME.match(name):
            raise BroadcastRejected(
                "invalid_filter", f"'{name}' is not an attribute name.", field=f"audience.filter.{name}"
            )
        query &= _condition(name, value, containment=containment)
    return query


def recipients_write(broadcast: Broadcast, rows: Iterable[BroadcastRecipient]) -> tuple[int, int]:
    """Save rows in batches; a repeated recipient key is saved as a skipped duplicate.
    Returns (valid, skipped)."""
    seen: dict[str, int] = {}
    valid = skipped = 0
    batch: list[BroadcastRecipient] = []
    for row in rows:
        if row.state == RecipientState.PENDING:
            first = seen.setdefault(row.recipient_key, row.row)
            if first != row.row:
                row.state, row.error = RecipientState.SKIPPED, f"duplicate of row {first}"
        if row.state == RecipientState.PENDING:
            valid += 1
        else:
            skipped += 1
        batch.append(row)
        if len(batch) >= 2000:
            BroadcastRecipient.objects.bulk_create(batch)
            batch = []
    BroadcastRecipient.objects.bulk_create(batch)
    return valid, skipped


def materialise_filter(broadcast: Broadcast) -> None:
    """Write one recipient per contact matching the filter, at start time, in one
    ``INSERT … SELECT`` (no contact passes through Python). External ids are unique, so no
    row is a duplicate: every row is valid, numbered in contact order."""
    audience = (
        Contact.objects.filter(attribute_filter_query(broadcast.audience_filter))
        .annotate(position=Window(RowNumber(), order_by=F("id").asc()))
        .order_by()
        .values_list("position", "external_id")
    )
    select_sql, select_params = audience.query.sql_with_params()
    meta = BroadcastRecipient._meta
    quote = connection.ops.quote_name
    columns = ["broadcast", "row", "recipient_key", "external_id", "to", "data", "state", "error"]
    names = ", ".join(quote(str(meta.get_field(name).column)) for name in columns)  # type: ignore[union-attr]
    json_type = meta.get_field("data").db_type(connection)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608 - identifiers from model meta
        f"SELECT %s, position, external_id, external_id, CAST(%s AS {json_type}), "
        f"CAST(%s AS {json_type}), %s, %s FROM ({select_sql}) AS audience"
    )
    broadcast_pk = Broadcast._meta.pk.get_db_prep_value(broadcast.id, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [broadcast_pk, "{}", "{}", RecipientState.PENDING, "", *select_params])
        valid = cursor.rowcount
    broadcast.total, broadcast.skipped, broadcast.audience_ready = valid, 0, True
