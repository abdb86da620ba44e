"""System checks on the digest keys (``manage.py check``; runserver and migrate run them too,
and ``migrate`` and ``check --database default`` also the one that reads suppressions).

An error here means suppressions or opt-outs could go unseen, so the hub must not start:
digest keys missing or the development key with DEBUG off, or a key set that has dropped a key
stored suppressions were made with (they would no longer match any address).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from audit.digests import DEV_DIGEST_KEY_ID, DEV_DIGEST_KEYS, DigestKey, digest_keys_parse
from hub.contacts.selectors import suppression_key_ids

DOCS = "See docs/security/digest-keys.md."


@register()
def digest_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With DEBUG off: keys are configured, and new digests are not made with the (public)
    development key."""
    if settings.DEBUG:
        return []
    keys: tuple[DigestKey, ...] = settings.HUB_DIGEST_KEYS
    if not keys:
        return [Error("HUB_DIGEST_KEYS is not set (required when DEBUG is off).", hint=DOCS, id="hub.E001")]
    # Kept behind a real key it only finds what a development hub wrote; first, it would write.
    if keys[:1] == digest_keys_parse(DEV_DIGEST_KEYS):
        return [
            Error(
                f"HUB_DIGEST_KEYS starts with the development key {DEV_DIGEST_KEY_ID!r} while DEBUG is off.",
                hint=DOCS,
                id="hub.E002",
            )
        ]
    return []


@register(Tags.database)
def digest_keys_in_use_check(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every key a stored suppression was made with is still configured. Reads the database,
    so (as Django's database checks) it runs in ``migrate`` and ``check --database default``."""
    if not databases:
        return []
    try:
        in_use = suppression_key_ids()
    except DatabaseError:  # the table or its key_id column is not migrated yet: nothing stored
        return []
    keys: tuple[DigestKey, ...] = settings.HUB_DIGEST_KEYS
    missing = sorted(in_use - {k.id for k in keys})
    if not missing:
        return []
    return [
        Error(
            f"Suppressions were stored under digest key(s) {', '.join(missing)}, which "
            "HUB_DIGEST_KEYS no longer holds: those addresses would not be found.",
            hint="Put the key(s) back (after the newest one). " + DOCS,
            id="hub.E003",
        )
    ]


def digest_keys_require() -> None:
    """Raise ImproperlyConfigured if a digest key check fails. gunicorn (``gunicorn.conf.py``)
    and Celery workers (``hub/celery.py``) call it as they start, since neither stops on a
    failed system check. Closes the connection it used: a process about to fork its workers
    must not hand one down."""
    try:
        errors = [*digest_keys_check(), *digest_keys_in_use_check(databases=["default"])]
    finally:
        connections.close_all()
    if errors:
        raise ImproperlyConfigured(" ".join(f"{e.id}: {e.msg}" for e in errors) + " " + DOCS)
