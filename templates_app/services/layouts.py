"""Email layouts: saving one is audited (approved versions keep the copy frozen at submit)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from audit.services import Actor, audit_append
from templates_app.models import EmailLayout


def email_layout_save(*, layout: EmailLayout, actor: Actor, changed: Sequence[str] = ()) -> EmailLayout:
    """Validate and save a layout (new or edited) with its audit record. Versions already
    submitted are unaffected: they render the layout as it was when they were submitted."""
    layout.full_clean()
    created = layout.pk is None
    with transaction.atomic():
        layout.save()
        audit_append(
            actor=actor,
            action="template.layout_created" if created else "template.layout_changed",
            object_type="email_layout",
            object_id=layout.pk,
            payload={"name": layout.name, "changed": list(changed)},
        )
    return layout
