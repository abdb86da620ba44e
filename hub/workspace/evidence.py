"""The evidence pack for one contact: one zip a regulator can read and check.

It holds every message (with its decision and timeline), every consent ledger entry with its
evidence, every suppression of the contact's addresses, inbound replies, and the audit
records about all of them with their canonical form, Merkle leaf index and inclusion proof under
the latest signed tree head (also in the pack), so that ``verify_evidence`` can check each one
offline with the log's public key. ``SUMMARY.txt`` states, for every SMS marketing opt-out window,
whether any marketing SMS was handed to a provider inside it.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from audit.models import AuditRecord
from hub.contacts.models import ConsentEntry, Contact, InboundMessage, Suppression, SuppressionReason
from hub.csv_cells import csv_dict
from hub.messaging.models import Message, MessageEvent
from hub.tracking.privacy import tracking_evidence
from hub.workspace.proof_files import audit_files_write
from hub.workspace.proof_files import iso as _iso
from hub.workspace.timeline import contact_messages, contact_suppressions

# A message in one of these, or with a provider id, was handed to a provider.
HANDED_OFF = frozenset({"sending", "sent", "delivered", "undelivered", "bounced"})


@dataclass(frozen=True)
class OptOutWindow:
    """A time during which the contact had opted out of marketing SMS."""

    start: datetime
    end: datetime | None
    source: str


@dataclass(frozen=True)
class OptOutFinding:
    window: OptOutWindow
    attempted: list[Message]
    handed_off: list[Message]


def _handed_off_at(message: Message) -> datetime | None:
    events: Iterable[MessageEvent] = message.events.all()
    for event in events:
        if event.status == "sending":
            return event.occurred_at
    if message.status in HANDED_OFF or message.provider_message_id:
        return message.status_changed_at
    return None


def sms_marketing_opt_out_windows(
    contact: Contact, suppressions: Iterable[Suppression]
) -> list[OptOutWindow]:
    """Windows from the consent ledger (withdrawn → next grant) and from SMS opt-out suppressions."""
    windows: list[OptOutWindow] = []
    start: ConsentEntry | None = None
    for entry in ConsentEntry.objects.filter(contact=contact, channel="sms", purpose="marketing").order_by(
        "created_at", "id"
    ):
        if not entry.granted and start is None:
            start = entry
        elif entry.granted and start is not None:
            windows.append(
                OptOutWindow(start.created_at, entry.created_at, f"consent ledger ({start.source})")
            )
            start = None
    if start is not None:
        windows.append(OptOutWindow(start.created_at, None, f"consent ledger ({start.source})"))
    for suppression in suppressions:
        if suppression.channel == "sms" and suppression.reason == SuppressionReason.SMS_OPT_OUT:
            windows.append(
                OptOutWindow(suppression.created_at, suppression.lifted_at, "suppression (sms_opt_out)")
            )
    return sorted(windows, key=lambda w: w.start)


def sms_marketing_after_opt_out(windows: list[OptOutWindow], messages: list[Message]) -> list[OptOutFinding]:
    """For each window: the marketing SMS created or handed off inside it, and those handed off."""
    findings = []
    marketing_sms = [m for m in messages if m.channel == "sms" and m.category == "marketing"]
    for window in windows:

        def inside(moment: datetime | None, w: OptOutWindow = window) -> bool:
            return moment is not None and moment >= w.start and (w.end is None or moment < w.end)

        attempted = [m for m in marketing_sms if inside(m.created_at) or inside(_handed_off_at(m))]
        handed = [m for m in attempted if inside(_handed_off_at(m))]
        findings.append(OptOutFinding(window, attempted, handed))
    return findings


def _message_row(message: Message) -> dict[str, Any]:
    notification = message.notification
    return {
        "id": str(message.id),
        "notification": str(notification.id),
        "template": notification.template.key,
        "template_version": notification.template_version_id,
        "channel": message.channel,
        "category": message.category,
        "to": message.to,
        "status": message.status,
        "block_reason": message.block_reason,
        "decided_by": message.decided_by,
        "decision": message.decision,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "created_at": _iso(message.created_at),
        "handed_off_at": _iso(_handed_off_at(message)),
        "rendered": message.rendered or None,
        "timeline": [
            {
                "at": _iso(e.occurred_at),
                "kind": e.kind,
                "status": e.status,
                "source": e.source,
                "detail": e.detail,
            }
            for e in message.events.all()
        ],
    }


def _summary(contact: Contact, findings: list[OptOutFinding], counts: dict[str, int], at: datetime) -> str:
    lines = [
        f"Evidence pack for contact {contact.external_id} (id {contact.pk})",
        f"Produced at {at.isoformat()}",
        "",
        *(f"{name}: {count}" for name, count in counts.items()),
        "",
        "Marketing SMS after an opt-out (STOP):",
    ]
    if not findings:
        lines.append("  The contact never opted out of marketing SMS.")
    for finding in findings:
        w = finding.window
        span = f"from {w.start.isoformat()} " + (f"to {w.end.isoformat()}" if w.end else "until now")
        lines.append(f"- Opt-out {span}, recorded by {w.source}:")
        if finding.handed_off:
            lines.append(
                f"  VIOLATION: {len(finding.handed_off)} marketing SMS handed to a provider in this window: "
                + ", ".join(str(m.id) for m in finding.handed_off)
            )
        else:
            blocked = [m for m in finding.attempted if m.status == "blocked"]
            lines.append(
                f"  No marketing SMS reached the contact in this window. {len(finding.attempted)} were "
                f"attempted; {len(blocked)} blocked "
                f"({', '.join(sorted({m.block_reason for m in blocked})) or 'none'})."
            )
    lines += [
        "",
        "Files: messages.json / messages.csv (every message, its decision and timeline),",
        "consents.json (the consent ledger with evidence), suppressions.json, inbound.json,",
        "tracking.json (tracked links, clicks and opens with their IP network and browser,",
        "conversions),",
        "audit_records.jsonl (the audit records about all of these: each record's Merkle leaf is",
        "SHA-256(0x00 || its 'canonical' field), and 'inclusion_proof' proves that leaf is in the log",
        "under the signed tree head in tree_head.json; check with",
        "python manage.py verify_evidence PACK --public-key KEY, KEY obtained from the company).",
    ]
    return "\n".join(lines) + "\n"


def evidence_pack_build(*, contact: Contact) -> bytes:
    """A zip of everything about one contact (see the module docstring). Reads only."""
    now = timezone.now()
    messages = contact_messages(contact, limit=None)
    suppressions = list(contact_suppressions(contact))
    consents = list(ConsentEntry.objects.filter(contact=contact).order_by("created_at", "id"))
    inbound = list(InboundMessage.objects.filter(contact=contact).order_by("received_at", "id"))
    findings = sms_marketing_after_opt_out(sms_marketing_opt_out_windows(contact, suppressions), messages)

    notification_ids = sorted({str(m.notification_id) for m in messages})
    about = (
        Q(object_type="contact", object_id=str(contact.pk))
        | Q(object_type="message", object_id__in=[str(m.id) for m in messages])
        | Q(object_type="notification", object_id__in=notification_ids)
        | Q(object_type="suppression", object_id__in=[str(s.pk) for s in suppressions])
        | Q(object_type="inbound", object_id__in=[str(i.pk) for i in inbound])
    )
    records = list(AuditRecord.objects.filter(about).order_by("seq"))
    tracking = tracking_evidence(message_ids=[m.id for m in messages])
    counts = {
        "messages": len(messages),
        "consent entries": len(consents),
        "suppressions": len(suppressions),
        "inbound replies": len(inbound),
        "tracked clicks and opens": len(tracking["hits"]),
        "conversions": len(tracking["conversions"]),
        "audit records": len(records),
    }

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as pack:

        def dump(name: str, value: Any) -> None:
            pack.writestr(name, json.dumps(value, indent=2, ensure_ascii=False, default=str))

        pack.writestr("SUMMARY.txt", _summary(contact, findings, counts, now))
        dump(
            "contact.json",
            {
                "id": contact.pk,
                "external_id": contact.external_id,
                "email": contact.email,
                "phone": contact.phone,
                "locale": contact.locale,
                "timezone": contact.timezone,
                "created_at": _iso(contact.created_at),
            },
        )
        rows = [_message_row(m) for m in messages]
        dump("messages.json", rows)
        csv_buffer = io.StringIO()
        columns = ["id", "created_at", "template", "channel", "category", "status", "block_reason",
                   "decided_by", "provider", "provider_message_id", "handed_off_at"]  # fmt: skip
        writer = csv.DictWriter(csv_buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(csv_dict(r) for r in rows)
        pack.writestr("messages.csv", csv_buffer.getvalue())
        dump(
            "consents.json",
            [
                {
                    "id": c.pk,
                    "at": _iso(c.created_at),
                    "channel": c.channel,
                    "purpose": c.purpose,
                    "granted": c.granted,
                    "source": c.source,
                    "evidence": c.evidence,
                }
                for c in consents
            ],
        )
        dump(
            "suppressions.json",
            [
                {
                    "id": s.pk,
                    "channel": s.channel,
                    "address_hash": s.address_hash,
                    "key_id": s.key_id,
                    "reason": s.reason,
                    "detail": s.detail,
                    "created_at": _iso(s.created_at),
                    "lifted_at": _iso(s.lifted_at),
                }
                for s in suppressions
            ],
        )
        dump(
            "inbound.json",
            [
                {
                    "id": i.pk,
                    "at": _iso(i.received_at),
                    "channel": i.channel,
                    "keyword": i.keyword,
                    "subject": i.subject,
                    "body": i.body,
                    "conversation": i.conversation_id,
                    "answers": str(i.answers_id) if i.answers_id else None,
                }
                for i in inbound
            ],
        )
        dump("tracking.json", tracking)
        audit_files_write(pack=pack, records=records)
    return buffer.getvalue()
