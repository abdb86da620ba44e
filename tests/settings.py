"""Test settings: the real settings, with test-only secrets and fast password hashing.

Everything else (database, broker, Redis) comes from the environment as in production:
`.ci/run` points DATABASE_URL at PostgreSQL and CELERY_BROKER_URL at Redis.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0f3b9c1e7a2d4b6f8e0a1c3e5f7a9b1d")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("HUB_VAR_DIR", tempfile.mkdtemp(prefix="switchboard-test-"))
os.environ.setdefault("HUB_SANDBOX_DELIVERY_DELAY", "0")

from hub.settings import *  # noqa: F403
from hub.settings import DATABASES, HUB_CALLBACK_BLOCKED_NETWORKS, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real worker process can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Flushing between transactional tests TRUNCATEs the append-only audit tables. Their
    # trigger lets the table's owner do that only in a session that asks for it, and only
    # the test settings ask (see audit/migrations/0003_append_only_triggers.py).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c switchboard.audit_allow_truncate=on".strip()

# The fake callback receivers listen on 127.0.0.1: let callbacks reach this host in tests
# (tests/hub/callbacks/test_safety.py checks the production default).
HUB_CALLBACK_BLOCKED_NETWORKS = [
    n for n in HUB_CALLBACK_BLOCKED_NETWORKS if n not in ("127.0.0.0/8", "::1/128")
]

# The audit log's tree heads are signed with a test key (a file, as in production).
HUB_AUDIT_SIGNING_KEY_FILE = str(Path(__file__).resolve().parent / "audit" / "signing-key.pem")
HUB_AUDIT_LOG_ORIGIN = "test.switchboard.invalid/audit"
