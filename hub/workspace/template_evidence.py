"""The evidence pack for one template: its versions, approvals, and the sends rendered from it.

It holds every version (author, submitted, reviewed by whom and when), every approval, the
messages pinned to its versions created in the requested period (at most ``MAX_MESSAGES``, newest
first, and SUMMARY.txt says when the cap cut the list), and the audit records about all of them:
records whose object is the template or one of its versions (approvals are recorded on the
version), and the notification/message records (accepted, decisions) of those messages. The audit
files are the contact pack's, so ``verify_evidence`` checks this pack unchanged.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from audit.models import AuditRecord
from hub.messaging.models import Message
from hub.workspace.proof_files import audit_files_write, iso
from templates_app.models import Template, TemplateApproval

# Bounds the pack: a template sent millions of times is exported one period at a time.
MAX_MESSAGES = 10_000


def template_evidence_pack_build(
    *, template: Template, since: datetime | None = None, until: datetime | None = None
) -> bytes:
    """A zip of everything about one template (see the module docstring). Reads only."""
    now = timezone.now()
    versions = list(template.versions.order_by("number"))
    approvals = list(TemplateApproval.objects.filter(version__template=template).order_by("pk"))
    sent = Message.objects.filter(notification__template_version__template=template)
    if since is not None:
        sent = sent.filter(created_at__gte=since)
    if until is not None:
        sent = sent.filter(created_at__lt=until)
    messages = list(sent.select_related("notification").order_by("-created_at")[: MAX_MESSAGES + 1])
    capped = len(messages) > MAX_MESSAGES
    messages = messages[:MAX_MESSAGES]
    about = (
        Q(object_type="template", object_id=str(template.pk))
        | Q(object_type="template_version", object_id__in=[str(v.pk) for v in versions])
        | Q(object_type="message", object_id__in=[str(m.id) for m in messages])
        | Q(object_type="notification", object_id__in=sorted({str(m.notification_id) for m in messages}))
    )
    records = list(AuditRecord.objects.filter(about).order_by("seq"))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as pack:

        def dump(name: str, value: Any) -> None:
            pack.writestr(name, json.dumps(value, indent=2, ensure_ascii=False, default=str))

        period = f"{iso(since) or 'the beginning'} to {iso(until) or 'now'}"
        pack.writestr(
            "SUMMARY.txt",
            "\n".join(
                [
                    f"Evidence pack for template {template.key} (id {template.pk})",
                    f"Produced at {now.isoformat()}; sends created from {period}",
                    f"versions: {len(versions)}",
                    f"approvals: {len(approvals)}",
                    f"messages: {len(messages)}"
                    + (f" (capped at the newest {MAX_MESSAGES}: narrow the period)" if capped else ""),
                    f"audit records: {len(records)}",
                    "Check with python manage.py verify_evidence PACK --public-key KEY.",
                ]
            )
            + "\n",
        )
        dump("template.json", {"id": template.pk, "key": template.key, "category": template.category})
        dump(
            "versions.json",
            [
                {
                    "id": v.pk,
                    "number": v.number,
                    "status": v.status,
                    "author": v.author_id,
                    "created_at": iso(v.created_at),
                    "submitted_at": iso(v.submitted_at),
                    "reviewed_by": v.reviewed_by_id,
                    "reviewed_at": iso(v.reviewed_at),
                    "review_comment": v.review_comment,
                }
                for v in versions
            ],
        )
        dump(
            "approvals.json",
            [
                {
                    "id": a.pk,
                    "version": a.version_id,
                    "approved_by": a.approved_by_id,
                    "at": iso(a.approved_at),
                }
                for a in approvals
            ],
        )
        dump(
            "messages.json",
            [
                {
                    "id": str(m.id),
                    "template_version": m.notification.template_version_id,
                    "channel": m.channel,
                    "status": m.status,
                    "decided_by": m.decided_by,
                    "decision": m.decision,
                    "created_at": iso(m.created_at),
                }
                for m in messages
            ],
        )
        audit_files_write(pack=pack, records=records)
    return buffer.getvalue()
