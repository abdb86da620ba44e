"""``python manage.py verify_audit`` as an operator runs it: a real process, exit status 1 and
the broken record named after one row was altered by hand with the trigger disabled."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from audit.sequencer import audit_sequence
from audit.services import Actor, AuditEntry, audit_append_many
from tests.audit.tamper import tamper_sql
from tests.logscan import run_recorded
from tests.worker import database_url

pytestmark = pytest.mark.django_db(transaction=True)


def verify_audit() -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return run_recorded(
        [sys.executable, "manage.py", "verify_audit"], env=env, cwd=settings.BASE_DIR, timeout=120
    )


def test_a_row_altered_by_hand_fails_the_command_and_is_named():
    records = audit_append_many(
        AuditEntry(Actor.system(), "test.fact", "thing", str(i), {"n": i}) for i in range(10)
    )
    audit_sequence()
    ok = verify_audit()
    assert ok.returncode == 0, ok.stderr
    assert "Audit log OK: 10 records in the tree" in ok.stdout

    seq = records[6].seq
    tamper_sql("UPDATE audit_auditrecord SET payload = %s WHERE seq = %s", ['{"n": 70}', str(seq)])
    broken = verify_audit()
    assert broken.returncode == 1
    assert (
        f"Audit log BROKEN at record #{seq}: record #{seq} (leaf 6): its content does not match its leaf"
        in broken.stderr
    )
