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
# Digest keys and plain HTTP (the test client and the worker subprocesses speak HTTP); in the
# environment, so processes the tests start get them too.
os.environ.setdefault("HUB_DIGEST_KEYS", "test:test-only-digest-key-6c1f0e9a2b4d8f3e5a7c9b1d")
os.environ.setdefault("HUB_HTTPS_ONLY", "0")

# pytest-xdist (-n): each worker has a test database of its own (pytest-django adds gw0, gw1, ...
# to its name) and needs a Redis database of its own too, or one worker's cache, rate limits
# and wake flags would reach the other's tests. TEST_XDIST_REDIS_URLS lists them, one a worker
# (.ci/run's "rest" part); with REDIS_URL set and no such list, a run on workers stops here.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER and os.environ.get("REDIS_URL"):
    _urls = os.environ.get("TEST_XDIST_REDIS_URLS", "").split()
    _index = int(_XDIST_WORKER.removeprefix("gw"))
    if _index >= len(_urls):
        raise RuntimeError(
            f"pytest-xdist worker {_XDIST_WORKER} has no Redis database of its own: with REDIS_URL set, "
            "list one URL a worker in TEST_XDIST_REDIS_URLS (space-separated), or leave out -n."
        )
    os.environ["REDIS_URL"] = _urls[_index]

from hub.settings import *  # noqa: E402, F403
from hub.settings import DATABASES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real worker process can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

# The schema owner: the "owner" alias when the hub runs as a role of its own (.ci/run), else
# the hub's one role.
_OWNER = DATABASES.get("owner", DATABASES["default"])
if _OWNER["ENGINE"] == "django.db.backends.postgresql":
    # Flushing between transactional tests TRUNCATEs the append-only audit tables, as the owner
    # (hub/management/commands/flush.py). Their trigger lets the table's owner do that only in
    # a session that asks for it, and only the owner's test connection asks (see
    # audit/migrations/0003_append_only_triggers.py); the hub's role has no TRUNCATE at all.
    _options = _OWNER.setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c switchboard.audit_allow_truncate=on".strip()

# The fake callback receivers listen on 127.0.0.1: let callbacks reach loopback in tests
# (tests/hub/callbacks/test_safety.py checks the production defaults).
HUB_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]

# Many tests send invalid keys from the test client's one address, 127.0.0.1: give it room
# (tests/hub/api/test_throttling.py sets the production-like budget it checks).
HUB_BAD_KEY_BURST = 1_000_000

# The audit log's tree heads are signed with a test key (a file, as in production).
HUB_AUDIT_SIGNING_KEY_FILE = str(Path(__file__).resolve().parent / "audit" / "signing-key.pem")
HUB_AUDIT_LOG_ORIGIN = "test.switchboard.invalid/audit"
