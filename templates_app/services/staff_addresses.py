"""Staff members' own test addresses: added, proved with a one-time code, removed; audited.

The code goes to the address directly through the channel's provider (named by the setting
``TEMPLATES_STAFF_CODE_FUNCTION``, since ``templates_app`` may not import ``hub``), not as a
notification: it is no message to a customer, and the code itself is never stored, only its
hash. Audit payloads carry the address as a digest, never in clear.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from audit.digests import address_digest, digest_key_id
from audit.models import ActorType, AuditRecord
from audit.services import Actor, audit_append
from templates_app.models import Channel, StaffAddress

CODE_TTL = timedelta(minutes=10)
# Six digits allow a million codes; five guesses give an attacker a 1-in-200,000 chance.
MAX_FAILED_ATTEMPTS = 5
CODE_SENT = "staff_address.code_sent"
WRONG_CODE = "That is not the code we sent; check it and try again."


class StaffAddressError(Exception):
    """The address cannot be added or verified; the message says why, for the form."""


def actions_in_last_hour(*, user: User, action: str) -> int:
    """How many ``action`` records ``user`` caused in the last hour (the audit trail is the
    counter, so a limit holds across processes and restarts)."""
    return AuditRecord.objects.filter(
        action=action,
        actor_type=ActorType.USER,
        actor_id=str(user.pk),
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).count()


def staff_address_add(*, user: User, channel: str, address: str) -> StaffAddress:
    """Send a fresh one-time code to ``address`` and keep it unverified until the code comes
    back (adding a known address again sends a new code and needs it again). Raises
    StaffAddressError for a bad address, a failed send or too many codes in an hour."""
    if channel not in (Channel.SMS, Channel.EMAIL):
        raise StaffAddressError("Test sends go by SMS or email.")
    limit = settings.TEMPLATES_STAFF_CODES_PER_HOUR
    if actions_in_last_hour(user=user, action=CODE_SENT) >= limit:
        raise StaffAddressError(f"At most {limit} codes an hour can be sent; try again later.")
    code = f"{secrets.randbelow(1_000_000):06d}"
    send = import_string(settings.TEMPLATES_STAFF_CODE_FUNCTION)
    # A network call: made before the transaction, which only records that it happened.
    normalised = str(send(channel=channel, address=address, code=code))
    with transaction.atomic():
        row, _ = StaffAddress.objects.select_for_update().get_or_create(
            user=user, channel=channel, address=normalised
        )
        row.code_hash = make_password(code)
        row.code_sent_at = timezone.now()
        row.failed_attempts = 0
        row.verified_at = None
        row.save(update_fields=["code_hash", "code_sent_at", "failed_attempts", "verified_at"])
        _staff_address_audit(user=user, action=CODE_SENT, row=row)
    return row


def staff_address_verify(*, address: StaffAddress, user: User, code: str) -> None:
    """Mark ``user``'s address verified if ``code`` is the one sent to it, unexpired and
    tried fewer than MAX_FAILED_ATTEMPTS times wrongly. Raises StaffAddressError otherwise
    (a wrong code counts as an attempt)."""
    with transaction.atomic():
        row = StaffAddress.objects.select_for_update().filter(pk=address.pk, user=user).first()
        if row is None:
            raise StaffAddressError("This is not one of your addresses.")
        problem = _code_problem(row, code)
        if problem is None:
            row.verified_at = timezone.now()
            row.code_hash = ""  # used once
            row.save(update_fields=["verified_at", "code_hash"])
            _staff_address_audit(user=user, action="staff_address.verified", row=row)
        elif problem == WRONG_CODE:
            row.failed_attempts += 1
            row.save(update_fields=["failed_attempts"])
    if problem is not None:
        raise StaffAddressError(problem)


def _code_problem(row: StaffAddress, code: str) -> str | None:
    if row.verified_at is not None:
        return "This address is already verified."
    if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
        return "Too many wrong codes: add the address again to get a new code."
    if row.code_sent_at is None or timezone.now() - row.code_sent_at > CODE_TTL:
        return "This code has expired: add the address again to get a new code."
    if not row.code_hash or not check_password(code.strip(), row.code_hash):
        return WRONG_CODE
    return None


def staff_address_remove(*, address: StaffAddress, user: User) -> None:
    """Forget one of ``user``'s addresses (test sends can no longer go there); audited."""
    with transaction.atomic():
        deleted, _ = StaffAddress.objects.filter(pk=address.pk, user=user).delete()
        if deleted:
            _staff_address_audit(user=user, action="staff_address.removed", row=address)


def _staff_address_audit(*, user: User, action: str, row: StaffAddress) -> None:
    """The audit record of a step on a staff address: its channel and digest, never the address."""
    audit_append(
        actor=Actor.user(user.pk),
        action=action,
        object_type="staff_address",
        object_id=row.pk,
        payload={
            "channel": row.channel,
            "address": address_digest(row.address),
            "digest_key": digest_key_id(),
        },
    )
