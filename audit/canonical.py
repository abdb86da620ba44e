"""The canonical serialisation an audit record's hash is taken over.

Two forms exist. ``v2`` (every record written now) is built so that PostgreSQL can produce
it from the columns by itself: top-level keys sorted with no spaces, and the payload in
PostgreSQL's own ``jsonb`` text form (keys ordered by length then bytes, ", " and ": "
separators, numbers in plain notation). That lets ``verify_audit`` have the database build
each record's text in C while Python only hashes it. ``v1`` (records written before
migration 0002) serialised the payload with sorted keys and no spaces; verification accepts
it for a record whose v2 hash does not match, so an older trail still verifies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# The same text, built by PostgreSQL from a row's columns (see audit.selectors).
PG_CANONICAL_SQL = """
'{"action":' || to_json(action)::text
|| ',"actor":[' || to_json(actor_type)::text || ',' || to_json(actor_id)::text
|| '],"at":"' || to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
|| '","object":[' || to_json(object_type)::text || ',' || to_json(object_id)::text
|| '],"payload":' || payload::text
|| ',"prev":' || to_json(prev_hash)::text
|| ',"seq":' || seq::text || '}'
"""


def _string(value: str) -> str:
    # Python's escaping with ensure_ascii=False equals PostgreSQL's escape_json: \" \\ \b \f
    # \n \r \t, other control characters as \u00xx, everything else as is.
    return json.dumps(value, ensure_ascii=False)


def _number(value: float) -> str:
    if value == 0:
        value = abs(value)
    return format(Decimal(repr(value)), "f")


def jsonb_text(value: Any) -> str:
    """``value`` as PostgreSQL prints it as ``jsonb::text`` (for JSON-compatible values)."""
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{_string(k)}: {jsonb_text(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    if isinstance(value, str):
        return _string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def canonical_text(
    *,
    seq: int,
    created_at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The v2 canonical form (see the module docstring)."""
    return (
        f'{{"action":{_string(action)},"actor":[{_string(actor_type)},{_string(actor_id)}],'
        f'"at":"{created_at.astimezone(UTC).strftime(TIME_FORMAT)}",'
        f'"object":[{_string(object_type)},{_string(object_id)}],"payload":{jsonb_text(payload)},'
        f'"prev":{_string(prev_hash)},"seq":{seq}}}'
    )


def canonical_text_v1(
    *,
    seq: int,
    created_at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The v1 canonical form, kept only to verify records written before v2."""
    body = {
        "seq": seq,
        "at": created_at.astimezone(UTC).strftime(TIME_FORMAT),
        "actor": [actor_type, actor_id],
        "action": action,
        "object": [object_type, object_id],
        "payload": payload,
        "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
