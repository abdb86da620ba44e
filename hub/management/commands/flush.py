"""``flush`` as the schema owner: emptying tables (TRUNCATE) is not the hub role's to do.

Django's own command, run on the named alias with the owner's credentials when
``MIGRATE_DATABASE_URL`` is set. Tests flush after each transactional test through it. The
audit tables' triggers still refuse unless the session asks (the test settings do, for the
owner only: see audit/migrations/0003_append_only_triggers.py).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush

from hub.dbroles.owner import alias_as_owner


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        with alias_as_owner(options["database"]):
            super().handle(**options)
