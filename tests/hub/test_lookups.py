"""``field__in``: on PostgreSQL ``= ANY`` of one array (hub.lookups), so a list of any length
is one statement text and one bound parameter; elsewhere Django's ``IN``. The same rows either
way."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Q

from hub.contacts.models import Contact, Suppression, SuppressionReason

# More values than PostgreSQL accepts as parameters of one statement (65,535).
OVER_THE_LIMIT = 70_000


@pytest.fixture
def rows() -> list[Suppression]:
    return [
        Suppression.objects.create(
            channel="sms", address_hash=f"h{i}", key_id="k", reason=SuppressionReason.INVALID
        )
        for i in range(6)
    ]


def _pks(*args: Q, **lookup: object) -> set[int]:
    return set(Suppression.objects.filter(*args, **lookup).values_list("pk", flat=True))


def _texts() -> tuple[list[tuple[str, int]], Any]:
    texts: list[tuple[str, int]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        texts.append((sql, len(params)))
        return execute(sql, params, many, context)

    return texts, record


@pytest.mark.django_db
def test_in_finds_the_rows(rows: list[Suppression]) -> None:
    wanted = [rows[0].pk, rows[3].pk, rows[3].pk, None, 10**9]
    assert _pks(pk__in=wanted) == {rows[0].pk, rows[3].pk}
    assert _pks(pk__in=iter(wanted)) == {rows[0].pk, rows[3].pk}
    assert _pks(address_hash__in=["h1", "h5", "nothing"]) == {rows[1].pk, rows[5].pk}
    assert _pks(pk__in=set()) == _pks(pk__in=[]) == set()
    assert _pks(~Q(pk__in=[rows[0].pk])) == {r.pk for r in rows[1:]}
    assert _pks(pk__in=Suppression.objects.filter(address_hash="h2").values("pk")) == {rows[2].pk}


@pytest.mark.django_db
def test_in_over_a_relation_finds_the_rows() -> None:
    from hub.contacts.models import ConsentEntry

    contacts = [Contact.objects.create(external_id=f"c{i}") for i in range(3)]
    for contact in contacts:
        ConsentEntry.objects.create(contact=contact, channel="sms", purpose="marketing", granted=True)
    found = ConsentEntry.objects.filter(contact__in=[contacts[0], contacts[2].pk]).values_list(
        "contact_id", flat=True
    )
    assert set(found) == {contacts[0].pk, contacts[2].pk}


@pytest.mark.postgres
@pytest.mark.django_db
def test_in_is_one_statement_text_for_any_number_of_values(rows: list[Suppression]) -> None:
    texts, record = _texts()
    with connection.execute_wrapper(record):
        _pks(pk__in=[r.pk for r in rows[:2]])
        _pks(pk__in=[r.pk for r in rows])
        list(Contact.objects.filter(pk__in=[1, 2, 3]).values_list("pk"))
    (first, first_params), (second, second_params), (third, _) = texts
    assert first == second
    assert "= ANY(%s::bigint[])" in first
    assert first_params == second_params == 1
    assert "= ANY(" in third


@pytest.mark.postgres
@pytest.mark.django_db
def test_more_values_than_the_server_takes_as_parameters() -> None:
    """Bound on the server, ``IN (%s, …)`` of 70,000 values was refused ("number of parameters
    must be between 0 and 65535"). A ``bulk_create`` of as many parameters is Django's own
    ``UNNEST`` of one array a column on PostgreSQL: held here too, as the hub relies on it."""
    Contact.objects.bulk_create(Contact(external_id=f"bulk-{i}") for i in range(OVER_THE_LIMIT // 2))
    wanted = [f"bulk-{i}" for i in range(OVER_THE_LIMIT)]
    assert Contact.objects.filter(external_id__in=wanted).count() == OVER_THE_LIMIT // 2
    suppressions = [
        Suppression(channel="sms", address_hash=f"b{i}", key_id="k", reason=SuppressionReason.INVALID)
        for i in range(OVER_THE_LIMIT // 6)  # six columns bound each: 70,000 parameters
    ]
    Suppression.objects.bulk_create(suppressions)
    assert Suppression.objects.count() == OVER_THE_LIMIT // 6
