"""Setting different values on many message rows in one statement per batch of the same
fields (``audit.rows.rows_update``: on PostgreSQL one ``UPDATE … FROM unnest(…)``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from audit.rows import rows_update
from hub.messaging.models import Message


def messages_bulk_set(rows: Mapping[UUID, Mapping[str, Any]]) -> None:
    """For each message id, set its fields to its values. Rows with the same field names share a statement."""
    groups: dict[tuple[str, ...], list[tuple[UUID, Mapping[str, Any]]]] = defaultdict(list)
    for message_id, values in rows.items():
        groups[tuple(sorted(values))].append((message_id, values))
    for names, items in groups.items():
        rows_update(Message, names, [(mid, [values[n] for n in names]) for mid, values in items])
