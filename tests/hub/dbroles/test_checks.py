"""The system check and /readyz warn when the hub's role could rewrite the audit log, and say
why: a superuser, an owner (or a member of the owner's role), or a role that may UPDATE,
DELETE, TRUNCATE or add triggers to an audit table. Readiness never fails for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from io import StringIO

import pytest
from django.core.management import call_command

from hub.dbroles.checks import W001, audit_log_rewriters, audit_log_role_check
from hub.dbroles.owner import alias_as_owner, owner_connection, roles_separated

pytestmark = pytest.mark.postgres  # database roles exist in PostgreSQL only

ROLE = f"sbtest_rewriter_{os.getpid()}"


@pytest.fixture
def powers_of(django_db_setup, django_db_blocker) -> Iterator[Callable[..., list[str]]]:
    """What audit_log_rewriters says of a new role given ``grants`` (SQL, %s for the role)."""
    with django_db_blocker.unblock(), owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE}")

        def powers(*grants: str) -> list[str]:
            for grant in grants:
                cursor.execute(grant % ROLE)
            cursor.execute(f"SET ROLE {ROLE}")
            try:
                return audit_log_rewriters(connection=owner)
            finally:
                cursor.execute("RESET ROLE")

        try:
            yield powers
        finally:
            cursor.execute(f"DROP OWNED BY {ROLE}")
            cursor.execute(f"DROP ROLE {ROLE}")


def test_a_role_that_may_only_insert_and_read_is_fine(powers_of):
    grants = "GRANT SELECT, INSERT ON audit_auditrecord, audit_auditcheckpoint, audit_auditleaf TO %s"
    assert powers_of(grants) == []


@pytest.mark.parametrize("power", ["UPDATE", "DELETE", "TRUNCATE", "TRIGGER"])
@pytest.mark.parametrize("table", ["audit_auditrecord", "audit_auditcheckpoint"])
def test_each_power_over_an_audit_table_is_named(powers_of, power, table):
    assert powers_of(f"GRANT {power} ON {table} TO %s") == [f"role {ROLE} may {power} {table}"]


def test_membership_of_the_owners_role_is_ownership(powers_of):
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_auditrecord'")
        (table_owner,) = cursor.fetchone()
    reasons = powers_of(f'GRANT "{table_owner}" TO %s')
    assert f"role {ROLE} owns audit_auditrecord" in reasons


def test_a_superuser_is_named(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), owner_connection() as owner:
        reasons = audit_log_rewriters(connection=owner)
    assert len(reasons) == 1 and reasons[0].endswith("is a superuser")  # postgres, here


@pytest.mark.django_db
def test_the_system_check_is_quiet_only_for_a_restricted_role():
    ids = [message.id for message in audit_log_role_check(None, databases=["default"])]
    assert ids == ([] if roles_separated() else [W001])
    with alias_as_owner("default"):
        [message] = audit_log_role_check(None, databases=["default"])
    assert message.id == W001 and "superuser" in message.msg and "setup_db_roles" in (message.hint or "")


@pytest.mark.django_db
def test_manage_py_check_database_prints_the_warning():
    out = StringIO()
    with alias_as_owner("default"):
        call_command("check", databases=["default"], stdout=out, stderr=out)
    assert W001 in out.getvalue()


@pytest.mark.django_db
def test_readyz_reports_the_role_without_failing(client):
    body = client.get("/readyz").json()
    assert body["audit_log"].startswith("append-only" if roles_separated() else "rewritable")
    with alias_as_owner("default"):
        response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["audit_log"].startswith("rewritable by the hub's database role: role ")
