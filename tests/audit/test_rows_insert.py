"""``rows_insert``: a write of more values than psycopg caches the parsing of (50) binds one
array per column (``INSERT … SELECT * FROM unnest(…)``), one statement text whatever the number
of rows; the rows stored are those one-row INSERTs store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from audit.rows import INSERT_MAX_PARAMETERS, JsonText, json_dumps, rows_insert
from hub.contacts.models import Suppression

COLUMNS = ("channel", "address", "address_hash", "key_id", "reason", "detail", "created_at", "lifted_at")


def _rows(prefix: str, count: int) -> list[tuple[Any, ...]]:
    details: list[Any] = [{"a": [1, "ü"]}, {}, JsonText(json.dumps({"t": "x\ny"})), {"n": None}]
    return [
        (
            "sms" if i % 2 else "email",
            f"ådress {i}",
            f"{prefix}{i}",
            "k1",
            "invalid",
            details[i % len(details)],
            datetime(2026, 12, 7, 8, i % 60, tzinfo=UTC),
            None if i % 3 else datetime(2026, 12, 8, tzinfo=UTC),
        )
        for i in range(count)
    ]


def _stored(prefix: str) -> list[tuple[Any, ...]]:
    rows = Suppression.objects.filter(address_hash__startswith=prefix).order_by("created_at", "address")
    return [
        tuple(getattr(r, c) if c != "address_hash" else r.address_hash[len(prefix) :] for c in COLUMNS)
        for r in rows
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_many_values_go_as_one_array_a_column_and_store_what_single_inserts_store() -> None:
    count = 20
    assert count * len(COLUMNS) > INSERT_MAX_PARAMETERS
    statements: list[tuple[str, int]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, len(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert rows_insert(Suppression, COLUMNS, _rows("many-", count)) == count
        rows_insert(Suppression, COLUMNS, _rows("many2-", count - 3))
    (sql, params), (sql2, params2) = statements
    assert "unnest(" in sql and sql == sql2
    assert params == params2 == len(COLUMNS)
    for row in _rows("one-", count):
        rows_insert(Suppression, COLUMNS, [row])
    assert _stored("many-") == _stored("one-")
    assert len(_stored("many-")) == count


def test_json_dumps_writes_what_json_dumps_writes() -> None:
    """``json_dumps`` (its C encoder made once) gives ``json.dumps``'s text, ``default`` and
    its refusals included."""
    when = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    values: list[Any] = [
        {"a": [1, 2.5, None, True, False], "ü": 'ådress\n"quoted" \u2028', "n": {"x": {}}},
        [],
        {},
        "plain",
        "ünïcode",
        42,
        1e100,
        float("nan"),
        None,
        {1: "int key", 2.5: "float key", None: "null key", False: "bool key"},
        ("a", "tuple"),
    ]
    plain, with_default = json_dumps(), json_dumps(default=str)
    unescaped = json_dumps(default=str, ascii_only=False)
    for value in values:
        assert plain(value) == json.dumps(value)
        assert with_default(value) == json.dumps(value, default=str)
        assert unescaped(value) == json.dumps(value, default=str, ensure_ascii=False)
    assert "ü" in unescaped({"ü": 1}) and "ü" not in plain({"ü": 1})
    assert with_default({"at": when, "n": [when]}) == json.dumps({"at": when, "n": [when]}, default=str)
    with pytest.raises(TypeError):
        plain({"at": when})
