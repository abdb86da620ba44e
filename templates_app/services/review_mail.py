"""Review notices: authors and reviewers are told of a submission and of a decision by email,
sent through Switchboard itself (the transactional template ``switchboard.review``, seeded by
migration, through the one intake, so each is a notification with its audit record).

``templates_app`` may not import ``hub``: the sending function is named by the setting
``TEMPLATES_REVIEW_NOTIFY_FUNCTION`` and called once the review step has committed. A notice
that cannot be sent never undoes or blocks the review step.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils.module_loading import import_string

REVIEW_TEMPLATE_KEY = "switchboard.review"


def reviewers_of(*, permission: str, makers: Iterable[int]) -> list[str]:
    """The email addresses of the active staff who may review (``app_label.codename``),
    the version's makers left out."""
    app_label, codename = permission.split(".", 1)
    perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if perm is None:
        return []
    users = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(user_permissions=perm) | Q(groups__permissions=perm))
        .exclude(pk__in=list(makers))
        .exclude(email="")
        .distinct()
    )
    return sorted(users.values_list("email", flat=True))


def emails_of(user_ids: Iterable[int]) -> list[str]:
    users = get_user_model().objects.filter(pk__in=list(user_ids), is_active=True).exclude(email="")
    return sorted(users.values_list("email", flat=True))


def review_notify(*, emails: list[str], subject: str, message: str, path: str, reference: str) -> None:
    """Send the notice to ``emails`` once the current transaction commits (now, if none)."""
    dotted = getattr(settings, "TEMPLATES_REVIEW_NOTIFY_FUNCTION", "")
    if not dotted or not emails:
        return
    send = import_string(dotted)
    transaction.on_commit(
        partial(send, emails=emails, subject=subject, message=message, path=path, reference=reference)
    )
