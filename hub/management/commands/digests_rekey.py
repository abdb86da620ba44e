"""``python manage.py digests_rekey``: move suppressions to the newest digest key.

Run after putting a new key first in HUB_DIGEST_KEYS (and restarting). Rows whose address is
still stored are re-digested; hash-only rows (erased addresses) cannot be, and their key must
stay configured. The command says which older keys are still in use, i.e. which may not be
dropped yet.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.digests import digest_key_id
from audit.services import Actor
from hub.contacts.selectors import suppression_key_ids
from hub.contacts.services import suppressions_rekey


class Command(BaseCommand):
    help = "Re-digest stored suppressions under the newest HUB_DIGEST_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        moved = suppressions_rekey(actor=Actor.system())
        newest = digest_key_id()
        self.stdout.write(f"Moved {moved} suppression(s) to digest key {newest}.")
        still = sorted(suppression_key_ids() - {newest})
        if still:
            self.stdout.write(
                f"Still in use (erased addresses, or rows locked meanwhile): {', '.join(still)}; keep them configured."
            )
        else:
            self.stdout.write("No suppression uses an older key: older keys may be removed.")
