"""``field__any``: the rows ``field__in`` finds, in one statement text whatever the list's
length (``= ANY`` of one array on PostgreSQL, so psycopg parses it once and the server can
prepare it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from hub.contacts.models import Suppression, SuppressionReason


@pytest.fixture
def rows() -> list[Suppression]:
    return [
        Suppression.objects.create(
            channel="sms", address_hash=f"h{i}", key_id="k", reason=SuppressionReason.INVALID
        )
        for i in range(6)
    ]


def _pks(**lookup: object) -> set[int]:
    return set(Suppression.objects.filter(**lookup).values_list("pk", flat=True))


@pytest.mark.django_db
def test_any_finds_what_in_finds(rows: list[Suppression]) -> None:
    wanted = [rows[0].pk, rows[3].pk, rows[3].pk, None, 10**9]
    assert _pks(pk__any=wanted) == _pks(pk__in=wanted) == {rows[0].pk, rows[3].pk}
    hashes = ["h1", "h5", "nothing"]
    assert _pks(address_hash__any=hashes) == _pks(address_hash__in=hashes) == {rows[1].pk, rows[5].pk}
    assert _pks(pk__any=set()) == _pks(pk__in=[]) == set()
    assert _pks(pk__any=Suppression.objects.filter(address_hash="h2").values("pk")) == {rows[2].pk}


@pytest.mark.postgres
@pytest.mark.django_db
def test_any_is_one_statement_text_for_any_number_of_values(rows: list[Suppression]) -> None:
    texts: list[tuple[str, int]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        texts.append((sql, len(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        _pks(pk__any=[r.pk for r in rows[:2]])
        _pks(pk__any=[r.pk for r in rows])
    (first, first_params), (second, second_params) = texts
    assert first == second
    assert "= ANY(%s::bigint[])" in first
    assert first_params == second_params == 1
