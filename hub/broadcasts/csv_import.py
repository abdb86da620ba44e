"""The admin's CSV audience: read the header, map columns, validate every row, and write the
recipients with a validation report before anything is sent."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.broadcasts.audience import recipients_write
from hub.broadcasts.drafts import DraftSettings, broadcast_draft_new
from hub.broadcasts.errors import BroadcastRejected
from hub.broadcasts.forecast import broadcast_rows_check
from hub.broadcasts.models import (
    AudienceKind,
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    RecipientState,
)
from hub.contacts.models import Contact
from hub.contacts.validation import normalise_email, normalise_phone

IGNORE, EXTERNAL_ID, EMAIL, PHONE, DATA = "ignore", "external_id", "email", "phone", "data"
ROLES = (
    (IGNORE, "Ignore"),
    (EXTERNAL_ID, "Contact external id"),
    (EMAIL, "Email address"),
    (PHONE, "Phone number (E.164)"),
    (DATA, "Template data (column name = variable)"),
)
MAX_ROWS = 200_000
EXAMPLES_IN_REPORT = 50


def csv_columns(text: str) -> list[str]:
    """The header row; raises BroadcastRejected if there is none, or if the file is not CSV
    text the hub can keep and read (a NUL, which PostgreSQL text refuses; a cell over the csv
    module's field limit): read whole once here, so nothing fails later."""
    if "\x00" in text:
        raise BroadcastRejected("nul_character", "The CSV holds a NUL character: it is not a text file.")
    try:
        header = next(csv.reader(io.StringIO(text)), None)
        for _ in csv.reader(io.StringIO(text)):
            pass
    except csv.Error as exc:
        raise BroadcastRejected("bad_csv", f"The CSV cannot be read: {exc}.") from None
    if not header or not any(h.strip() for h in header):
        raise BroadcastRejected("empty_csv", "The CSV has no header row.")
    return [h.strip() for h in header]


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """A first guess the marketer can correct: known names get their role, the rest is data."""
    known = {
        "external_id": EXTERNAL_ID,
        "customer_id": EXTERNAL_ID,
        "email": EMAIL,
        "phone": PHONE,
        "mobile": PHONE,
    }
    return {c: known.get(c.lower(), DATA) for c in columns}


def _rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    for index, row in enumerate(reader, start=1):
        yield index, {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}


CHANNEL_OF = {EMAIL: "email", PHONE: "sms"}
CHANNEL_LABEL = {"email": "email", "sms": "SMS"}


def _recipient(
    broadcast: Broadcast, index: int, row: Mapping[str, str], mapping: Mapping[str, str]
) -> BroadcastRecipient:
    """One row as a recipient. A bad address drops only its own channel: the row keeps its
    other addresses (and its contact's), and the dropped one is listed on ``dropped`` as
    (channel, column, value) for the report. A row left with nothing to send to is skipped
    with the first bad address as its reason."""
    external_id = email = phone = ""
    data: dict[str, Any] = {}
    error = ""
    dropped: list[tuple[str, str, str]] = []
    for column, role in mapping.items():
        value = row.get(column, "")
        if role == EXTERNAL_ID:
            external_id = value
        elif role in (EMAIL, PHONE) and value:
            try:
                if role == EMAIL:
                    email = normalise_email(value)
                else:
                    phone = normalise_phone(value)
            except ValidationError:
                error = error or f"invalid {role} in '{column}'"
                dropped.append((CHANNEL_OF[role], column, value))
        elif role == DATA:
            data[column] = value
    to = {k: v for k, v in (("email", email), ("phone", phone)) if v}
    key = external_id or (f"email:{email}" if email else (f"phone:{phone}" if phone else ""))
    if key:
        error = ""  # something is left to send to: the bad address only loses its channel
    elif not error:
        error = "no external id, email or phone"
    recipient = BroadcastRecipient(
        broadcast=broadcast,
        row=index,
        recipient_key=key or f"row:{index}",
        external_id=external_id,
        to=to,
        data=data,
        state=RecipientState.SKIPPED if error else RecipientState.PENDING,
        error=error,
    )
    recipient.dropped = dropped if not error else []  # type: ignore[attr-defined]
    return recipient


def channel_notes(
    broadcast: Broadcast, recipients: Sequence[BroadcastRecipient], contacts: Mapping[str, Contact]
) -> list[str]:
    """In words, each row that lost a channel to a bad address and still goes out:
    "row 7: phone '+44 12' invalid, SMS skipped" (or "…, the contact's phone on file is used")."""
    chosen = set(broadcast.channels) or {"sms", "email", "push"}
    notes = []
    for r in recipients:
        if r.state != RecipientState.PENDING:
            continue
        for channel, column, value in getattr(r, "dropped", ()):
            kind = "phone" if channel == "sms" else "email"
            contact = contacts.get(r.external_id) if r.external_id else None
            on_file = getattr(contact, kind, "") if contact is not None else ""
            shown = value if len(value) <= 40 else value[:39] + "…"
            said = f"row {r.row}: {kind} '{shown}' in '{column}' invalid, "
            if channel not in chosen:
                said += f"not used ({CHANNEL_LABEL[channel]} is not chosen)"
            elif on_file:
                said += f"the contact's {kind} on file is used"
            else:
                said += f"{CHANNEL_LABEL[channel]} skipped"
            notes.append(said)
    return notes


def broadcast_csv_prepare(
    *, broadcast: Broadcast, mapping: Mapping[str, str], actor: Actor
) -> dict[str, Any]:
    """Validate every row of the draft's CSV under ``mapping`` and write its recipients (valid
    ones pending; invalid, unknown-contact and duplicate rows skipped with the reason).
    Returns the validation report (also saved on the broadcast). Can be re-run with a new
    mapping while the broadcast is a draft: earlier recipients are replaced."""
    roles = set(mapping.values())
    if not roles & {EXTERNAL_ID, EMAIL, PHONE}:
        raise BroadcastRejected(
            "no_recipient_column", "Map at least one column to an external id, email or phone."
        )
    if list(mapping.values()).count(EXTERNAL_ID) > 1:
        raise BroadcastRejected("mapping", "Only one column can be the external id.")
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(id=broadcast.id)
        if locked.status != BroadcastStatus.DRAFT:
            raise BroadcastRejected("not_draft", "Only a draft broadcast's CSV can be mapped.")
        BroadcastRecipient.objects.filter(broadcast=locked).delete()
        recipients = [_recipient(locked, i, row, mapping) for i, row in _rows(locked.csv_text)]
        if len(recipients) > MAX_ROWS:
            raise BroadcastRejected("too_many_rows", f"A CSV may have at most {MAX_ROWS} rows.")
        wanted = {r.external_id for r in recipients if r.external_id and r.state == RecipientState.PENDING}
        contacts: dict[str, Contact] = {}
        ids = list(wanted)
        for start in range(0, len(ids), 5000):
            contacts.update(
                (c.external_id, c) for c in Contact.objects.filter(external_id__in=ids[start : start + 5000])
            )
        for r in recipients:
            if r.state == RecipientState.PENDING and r.external_id and r.external_id not in contacts:
                r.state, r.error = RecipientState.SKIPPED, "unknown contact"
        locked.column_mapping = dict(mapping)
        # Everything that decides a row, checked now: data, addresses, and the compliance forecast.
        forecast = broadcast_rows_check(locked, recipients, contacts, now=timezone.now())
        notes = channel_notes(locked, recipients, contacts)
        valid, skipped = recipients_write(locked, recipients)
        problems = [r for r in recipients if r.state == RecipientState.SKIPPED]
        reasons = Counter(r.error.split(" of row")[0].split(": ")[0] for r in problems)
        report = {
            "rows": len(recipients),
            "valid": valid,
            "skipped": skipped,
            "reasons": dict(reasons),
            "examples": [{"row": r.row, "error": r.error} for r in problems[:EXAMPLES_IN_REPORT]],
            # Rows that still go out on their other channels: one bad address drops only its own.
            "channels_dropped": len(notes),
            "channel_notes": notes[:EXAMPLES_IN_REPORT],
            "forecast": forecast,
        }
        locked.validation_report = report
        locked.total, locked.skipped, locked.audience_ready = valid, skipped, True
        locked.save(
            update_fields=["column_mapping", "validation_report", "total", "skipped", "audience_ready"]
        )
        audit_append(
            actor=actor,
            action="broadcast.csv_validated",
            object_type="broadcast",
            object_id=locked.id,
            payload={k: v for k, v in report.items() if k not in ("examples", "forecast", "channel_notes")},
        )
    return report


def broadcast_csv_draft_create(
    *,
    settings: DraftSettings,
    csv_text: str,
    data: Mapping[str, Any] | None = None,
    user_id: int | None,
) -> Broadcast:
    """A draft broadcast holding an uploaded CSV, waiting for its column mapping."""
    csv_columns(csv_text)
    with transaction.atomic():
        broadcast = broadcast_draft_new(
            settings=settings,
            user_id=user_id,
            audience_kind=AudienceKind.CSV,
            data=dict(data or {}),
            csv_text=csv_text,
        )
        audit_append(
            actor=Actor.user(user_id) if user_id else Actor.system(),
            action="broadcast.csv_uploaded",
            object_type="broadcast",
            object_id=broadcast.id,
            payload={"template": settings.template.key, "bytes": len(csv_text.encode())},
        )
    return broadcast
