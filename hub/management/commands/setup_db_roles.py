"""``python manage.py setup_db_roles``: create or update the hub's database role and its grants.

Runs as the schema owner (``MIGRATE_DATABASE_URL``); ``migrate`` re-applies the grants at its
end, so this is needed once on a new database, and whenever the role's password changes.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from hub.dbroles.checks import audit_log_rewriters
from hub.dbroles.grants import db_roles_apply
from hub.dbroles.owner import OWNER_ALIAS


class Command(BaseCommand):
    help = "Create or update the hub's database role (DATABASE_URL) and its grants, as the owner."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            role = db_roles_apply(using=OWNER_ALIAS)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Role {role}: may read and add to the audit log, full access to the other tables.")
        reasons = audit_log_rewriters(connection=connections["default"])
        if reasons:
            raise CommandError("It could still rewrite the audit log: " + "; ".join(reasons))
