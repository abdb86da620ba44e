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

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def attribute_filter_query(attribute_filter: Mapping[str, Any]) -> Q:
    """``{"tier": "gold", "region": ["north", "east"]}``: every key must match; a list means
    any of its values. Keys are plain names (letters, digits, underscore)."""
    query = Q()
    for name, value in attribute_filter.items():
        if not ATTRIBUTE_NAME.match(name):
            raise BroadcastRejected(
                "invalid_filter", f"'{name}' is not an attribute name.", field=f"audience.filter.{name}"
            )
        if isinstance(value, list):
            query &= Q(**{f"attributes__{name}__in": value})
        else:
            query &= Q(**{f"attributes__{name}": value})
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
