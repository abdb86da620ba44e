"""setup_db_roles and migrate give the hub's role exactly its grants, every time, as the owner.

Run as the owner on its own test transaction (``databases`` names both aliases), so each grant
made or revoked here is rolled back after the test.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connections

from hub.dbroles.grants import db_roles_apply, hub_role_name
from hub.dbroles.owner import OWNER_ALIAS, roles_separated
from hub.management.commands.migrate import Command as MigrateCommand

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not roles_separated(), reason="one role here: set MIGRATE_DATABASE_URL, as .ci/run does"
    ),
    pytest.mark.django_db(databases=["default", OWNER_ALIAS]),
]

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")


def owner_sql(*statements: str) -> None:
    with connections[OWNER_ALIAS].cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.replace("HUB", f'"{hub_role_name()}"'))


def hub_may(table: str) -> set[str]:
    with connections[OWNER_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT p FROM unnest(%s::text[]) AS p WHERE has_table_privilege(%s, %s, p)",
            [list(PRIVILEGES), hub_role_name(), table],
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_hub_role_has_exactly_its_grants():
    assert hub_may("audit_auditrecord") == {"SELECT", "INSERT"}
    assert hub_may("audit_auditcheckpoint") == {"SELECT", "INSERT"}
    for table in ("audit_auditleaf", "audit_auditnode", "audit_audittreestate", "audit_audittreehead"):
        assert hub_may(table) == {"SELECT", "INSERT"}, table
    assert hub_may("messaging_message") == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_setup_db_roles_takes_back_what_was_added_by_hand():
    owner_sql("GRANT ALL ON audit_auditrecord TO HUB", "REVOKE DELETE ON messaging_message FROM HUB")
    call_command("setup_db_roles", stdout=None)
    call_command("setup_db_roles", stdout=None)  # idempotent
    assert hub_may("audit_auditrecord") == {"SELECT", "INSERT"}
    assert hub_may("messaging_message") == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_migrate_runs_as_the_owner_and_reapplies_the_grants():
    assert MigrateCommand().create_parser("manage.py", "migrate").parse_args([]).database == OWNER_ALIAS
    owner_sql(
        "GRANT UPDATE, TRUNCATE ON audit_auditcheckpoint TO HUB", "REVOKE ALL ON contacts_contact FROM HUB"
    )
    call_command("migrate", verbosity=0)
    assert hub_may("audit_auditcheckpoint") == {"SELECT", "INSERT"}
    assert hub_may("contacts_contact") == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_new_tables_start_with_select_and_insert_and_audit_ones_keep_to_that():
    """A table made by a later migration is never updatable before its grants are applied, and
    one named audit_… stays append-only after (the prefix counts, not just the app's models)."""
    owner_sql("CREATE TABLE audit_sealed (id bigint)", "CREATE TABLE hub_scratch (id bigint)")
    assert hub_may("audit_sealed") == hub_may("hub_scratch") == {"SELECT", "INSERT"}
    db_roles_apply(using=OWNER_ALIAS)
    assert hub_may("audit_sealed") == {"SELECT", "INSERT"}
    assert hub_may("hub_scratch") == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_tables_the_hub_role_owned_move_to_the_owner():
    """An install that ran as one role: the grants would mean nothing while it owns tables."""
    owner_sql("CREATE TABLE audit_legacy (id bigint)", "ALTER TABLE audit_legacy OWNER TO HUB")
    db_roles_apply(using=OWNER_ALIAS)
    with connections[OWNER_ALIAS].cursor() as cursor:
        cursor.execute("SELECT tableowner = current_user FROM pg_tables WHERE tablename = 'audit_legacy'")
        assert cursor.fetchone() == (True,)
    assert hub_may("audit_legacy") == {"SELECT", "INSERT"}


def test_the_hub_role_must_be_another_role(monkeypatch):
    monkeypatch.setitem(settings.DATABASES["default"], "USER", settings.DATABASES[OWNER_ALIAS]["USER"])
    with pytest.raises(ImproperlyConfigured, match="role of its own"):
        hub_role_name()


def test_powers_the_hub_role_was_given_are_taken_back():
    owner = settings.DATABASES[OWNER_ALIAS]["USER"]
    owner_sql("ALTER ROLE HUB CREATEDB CREATEROLE NOLOGIN", f'GRANT "{owner}" TO HUB')
    db_roles_apply(using=OWNER_ALIAS)
    with connections[OWNER_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT rolcreatedb, rolcreaterole, rolcanlogin, pg_has_role(rolname, current_user, 'MEMBER')"
            " FROM pg_roles WHERE rolname = %s",
            [hub_role_name()],
        )
        assert cursor.fetchone() == (False, False, True, False)
