"""The canonical serialisation an audit record's hash is taken over.

Two forms exist. ``v2`` (every record written now) is built so that verification can rebuild it
from the columns as PostgreSQL prints them, without parsing JSON: top-level keys sorted with
no spaces, and the payload in PostgreSQL's own ``jsonb`` text form (keys ordered by length then
bytes, ", " and ": " separators, numbers in plain notation). ``v1`` (records written before
migration 0002) serialised the payload with sorted keys and no spaces; verification accepts
it for a record whose v2 hash does not match, so an older trail still verifies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, TypedDict, Unpack

GENESIS_HASH = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# PostgreSQL prints a timestamp exactly as TIME_FORMAT does (used by verification).
PG_TIME_SQL = """to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


# Python's escaping with ensure_ascii=False equals PostgreSQL's escape_json: \" \\ \b \f \n
# \r \t, other control characters as \u00xx, everything else as is. (The C function json
# itself uses for that, called directly: verification calls it millions of times.)
_string: Callable[[str], str] = encode_basestring
__all__ = [
    "GENESIS_HASH",
    "PG_TIME_SQL",
    "canonical_head",
    "canonical_text",
    "canonical_text_v1",
    "encode_basestring",
    "jsonb_text",
    "record_fields",
]

# The columns every canonical form is taken over, in the keyword names the forms use.
RECORD_FIELDS = (
    "seq",
    "created_at",
    "actor_type",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "payload",
    "prev_hash",
)


def record_fields(record: Any) -> dict[str, Any]:
    """A stored record's columns as the keyword arguments of ``canonical_text`` / ``_v1``."""
    return {name: getattr(record, name) for name in RECORD_FIELDS}


def _number(value: float) -> str:
    if value == 0:
        value = abs(value)
    return format(Decimal(repr(value)), "f")


def _jsonb_key(key: str) -> tuple[int, bytes]:
    encoded = key.encode()
    return len(encoded), encoded


@lru_cache(maxsize=4096)
def _jsonb_key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    # Payloads of one kind share their keys: each set of keys is sorted once, not per record.
    return tuple(sorted(keys, key=_jsonb_key))


def jsonb_text(value: Any) -> str:
    """``value`` as PostgreSQL prints it as ``jsonb::text`` (for JSON-compatible values)."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is dict or isinstance(value, Mapping):
        parts = [f"{_string(k)}: {jsonb_text(value[k])}" for k in _jsonb_key_order(tuple(value))]
        return "{" + ", ".join(parts) + "}"
    if kind is list or kind is tuple:
        return "[" + ", ".join([jsonb_text(v) for v in value]) + "]"
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
    if isinstance(value, list | tuple):
        return "[" + ", ".join([jsonb_text(v) for v in value]) + "]"
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
    return canonical_from_text(
        seq=seq,
        at=created_at.astimezone(UTC).strftime(TIME_FORMAT),
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload_text=jsonb_text(payload),
        prev_hash=prev_hash,
    )


class CanonicalHead(TypedDict):
    """What the v2 form holds besides the record's number: the time already formatted and the
    payload already in jsonb text."""

    at: str
    actor_type: str
    actor_id: str
    action: str
    object_type: str
    object_id: str
    payload_text: str
    prev_hash: str


def canonical_from_text(*, seq: int, **head: Unpack[CanonicalHead]) -> str:
    """The v2 form from the time already formatted and the payload already in jsonb text."""
    return canonical_head(**head) + f"{seq}}}"


def canonical_head(**head: Unpack[CanonicalHead]) -> str:
    """The v2 form up to its record number, which comes last: the form is this, the number in
    decimal, and ``}`` (so a record numbered by the database can be hashed there)."""
    s = _string
    return (
        f'{{"action":{s(head["action"])},"actor":[{s(head["actor_type"])},{s(head["actor_id"])}],'
        f'"at":"{head["at"]}","object":[{s(head["object_type"])},{s(head["object_id"])}],'
        f'"payload":{head["payload_text"]},"prev":{s(head["prev_hash"])},"seq":'
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
