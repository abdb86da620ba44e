"""The embedded default that `scripts/up` runs (SQLite, no database server) migrates, seeds the
demo and verifies its audit log. CI runs the suite on PostgreSQL, so without this test a
migration that only PostgreSQL can run would break the first command of the README unseen (two
did: a JSON containment lookup in apikeys 0003, the Merkle log's txid column in audit 0004)."""

from __future__ import annotations

import os
import sys

from django.conf import settings

from tests.logscan import run_recorded

SERVICES = {
    "DATABASE_URL",
    "MIGRATE_DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
}


def manage(var_dir: str, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SERVICES}
    env |= {"DEBUG": "1", "HUB_VAR_DIR": var_dir}
    result = run_recorded([sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_fresh_sqlite_install_migrates_seeds_and_verifies(tmp_path):
    var_dir = str(tmp_path)
    manage(var_dir, "migrate", "--no-input")
    manage(var_dir, "seed_demo")
    manage(var_dir, "verify_audit")
    assert (tmp_path / "switchboard.sqlite3").exists()
