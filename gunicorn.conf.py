"""gunicorn's settings for the hub; gunicorn reads this file from the directory it starts in.

gunicorn does not run Django's system checks, so the master runs the digest key checks before
it starts any worker, and refuses to start (exit code 1) with keys that would let a
suppressed address through (see docs/security/digest-keys.md). Other WSGI servers: run
``python manage.py check --deploy --database default`` before starting them.
"""

from __future__ import annotations

import os
from typing import Any


def on_starting(server: Any) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    django.setup()
    from hub.contacts.checks import digest_keys_require

    digest_keys_require()
