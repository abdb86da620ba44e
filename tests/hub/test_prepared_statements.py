"""On PostgreSQL the server binds the parameters and prepares a statement a connection runs
often (DATABASE_PREPARE_THRESHOLD); ``off`` leaves Django's client-side binding."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests.hub.test_settings import load_settings


def _options(**env: str) -> str:
    result = load_settings(
        "settings.DATABASES['default'].get('OPTIONS', {})",
        DEBUG="1",
        DATABASE_URL="postgres://hub@db.example:5432/switchboard",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_postgresql_binds_on_the_server_and_prepares_after_five_runs_by_default() -> None:
    assert _options() == "{'server_side_binding': True, 'prepare_threshold': 5}"
    assert _options(DATABASE_PREPARE_THRESHOLD="2") == "{'server_side_binding': True, 'prepare_threshold': 2}"


def test_off_leaves_djangos_client_side_binding_for_a_pooler() -> None:
    assert _options(DATABASE_PREPARE_THRESHOLD="off") == "{}"


def test_a_threshold_that_is_not_a_number_stops_the_hub_with_what_to_set() -> None:
    result = load_settings(
        "settings.DATABASES",
        DEBUG="1",
        DATABASE_URL="postgres://hub@db.example/sb",
        DATABASE_PREPARE_THRESHOLD="five",
    )
    assert result.returncode != 0
    assert (
        "DATABASE_PREPARE_THRESHOLD must be a whole number of runs (e.g. 5) or 'off', not 'five'."
        in result.stderr
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_run_often_is_prepared_on_the_connection() -> None:
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    with connection.cursor() as cursor:
        for _ in range(threshold + 1):
            cursor.execute("SELECT count(*) FROM messaging_message WHERE channel = %s", ["sms"])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("messaging_message WHERE channel = $1" in s for s in prepared), prepared
