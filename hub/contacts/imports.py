"""Contacts from a marketer's CSV: create the ones that do not exist (by external id), update
the ones that do, and record consent only where the row carries its evidence.

The columns are read by name (docs/admin.md, "Importing contacts"):

- ``external_id`` (required; ``customer_id`` also works), ``email``, ``phone`` (or ``mobile``),
  ``locale``, ``timezone``: the contact's profile. An empty cell leaves what the contact has.
- ``consent_<channel>_<category>`` (``consent_email_marketing``...): ``yes`` grants, ``no``
  withdraws, empty records nothing. A grant needs its evidence in the same row: ``consent_source``
  (where the person agreed, e.g. "spring signup form") and ``consent_at`` (when, ISO 8601);
  ``consent_evidence`` (the wording they saw, a reference) is kept too. A withdrawal never lets
  more be sent, so it needs none. Consent columns without the evidence columns refuse the file.
- every other column: a contact attribute of that name (whole numbers and ``true``/``false``
  are stored as such, so a segment can compare them).

A bad address drops only itself (the row keeps its other channel, the report says which); a
row with a bad consent value or evidence, or no external id, is not imported and the report
says why. Everything goes through the contacts services (``contacts_upsert``, ``consent_record``),
so each contact and consent change is audited as any other.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.services import Actor, audit_append
from hub.contacts.models import ConsentSource, Contact, ContactImport
from hub.contacts.selectors import consent_states
from hub.contacts.services import consent_record
from hub.contacts.sync import ContactData, contacts_upsert
from hub.contacts.validation import normalise_email, normalise_phone
from hub.refusals import Refused

MAX_ROWS = 50_000
MAX_COLUMNS = 200
EXAMPLES_IN_REPORT = 50
PROFILE = {"external_id", "email", "phone", "locale", "timezone"}
ALIASES = {"customer_id": "external_id", "mobile": "phone"}
EVIDENCE = ("consent_source", "consent_at", "consent_evidence")
CONSENT_COLUMN = re.compile(r"^consent_(sms|email|push)_(transactional|marketing)$")
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}
CHANNEL_LABEL = {"sms": "SMS", "email": "email"}


class ImportRejected(Refused):
    """The file cannot be imported at all (nothing was written)."""


@dataclass
class _Row:
    number: int
    external_id: str
    profile: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    consent: list[tuple[str, str, bool]] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)
    error: str = ""
    notes: list[str] = field(default_factory=list)


def _columns(text: str) -> list[str]:
    if "\x00" in text:  # PostgreSQL text cannot hold it: refused before the file is kept
        raise ImportRejected("nul_character", "The CSV holds a NUL character: it is not a text file.")
    try:
        header = next(csv.reader(io.StringIO(text)), None)
    except csv.Error as exc:
        raise ImportRejected("bad_csv", f"The header row cannot be read as CSV: {exc}.") from None
    if not header or not any(h.strip() for h in header):
        raise ImportRejected("empty_csv", "The CSV has no header row.")
    return [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]


def import_columns_check(text: str) -> dict[str, list[str]]:
    """What each column will be, or ImportRejected saying what is wrong with the header."""
    columns = _columns(text)
    if len(columns) > MAX_COLUMNS:
        raise ImportRejected("too_many_columns", f"A contacts CSV may have at most {MAX_COLUMNS} columns.")
    if "external_id" not in columns:
        raise ImportRejected("no_external_id", "The CSV needs an external_id column (who each row is).")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ImportRejected("repeated_column", f"Repeated column: {', '.join(repeated)}.")
    consent = [c for c in columns if c.startswith("consent_") and c not in EVIDENCE]
    unknown = [c for c in consent if not CONSENT_COLUMN.match(c)]
    if unknown:
        raise ImportRejected(
            "unknown_consent_column",
            f"{', '.join(unknown)}: a consent column is consent_<sms|email|push>_<transactional|marketing>.",
        )
    missing = [c for c in ("consent_source", "consent_at") if c not in columns]
    if consent and missing:
        raise ImportRejected(
            "consent_without_evidence",
            f"{', '.join(consent)} need their evidence: add the {' and '.join(missing)} "
            "column(s). No consent is recorded without evidence.",
        )
    attributes = [c for c in columns if c not in PROFILE and c not in consent and c not in EVIDENCE]
    bad = [c for c in attributes if not ATTRIBUTE_NAME.match(c)]
    if bad:
        raise ImportRejected(
            "bad_attribute_name",
            f"{', '.join(bad)}: an attribute column's name is letters, digits and underscores.",
        )
    return {"attributes": attributes, "consent": consent}


def _typed(value: str) -> Any:
    """A cell as the attribute's value: whole numbers (without leading zeros, so "01234"
    stays text) and true/false as such, everything else as text."""
    if re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", value):
        return int(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _when(value: str, now: datetime) -> datetime | None:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        moment = datetime.combine(day, time()) if day else None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment if moment <= now else None


def _parse(number: int, cells: Mapping[str, str], consent_columns: Sequence[str], now: datetime) -> _Row:
    row = _Row(number=number, external_id=cells.get("external_id", "")[:128])
    if not row.external_id:
        row.error = "no external id"
        return row
    for name, check, channel in (("email", normalise_email, "email"), ("phone", normalise_phone, "sms")):
        value = cells.get(name, "")
        if not value:
            continue
        try:
            row.profile[name] = check(value)
        except ValidationError:
            shown = value if len(value) <= 40 else value[:39] + "…"
            row.notes.append(
                f"row {number}: {name} '{shown}' invalid, not saved ({CHANNEL_LABEL[channel]} skipped)"
            )
    if cells.get("locale"):
        row.profile["locale"] = cells["locale"][:35]
    zone = cells.get("timezone", "")
    if zone and zone not in available_timezones():
        row.notes.append(f"row {number}: timezone '{zone[:40]}' unknown, not saved")
    elif zone:
        row.profile["timezone"] = zone
    for column in consent_columns:
        value = cells.get(column, "").lower()
        if not value:
            continue
        if value not in YES | NO:
            row.error = f"{column} is '{cells[column][:20]}': write yes or no (or leave it empty)"
            return row
        channel, purpose = CONSENT_COLUMN.match(column).groups()  # type: ignore[union-attr]
        row.consent.append((channel, purpose, value in YES))
    if any(granted for _, _, granted in row.consent):
        source, at = cells.get("consent_source", ""), cells.get("consent_at", "")
        if not source:
            row.error = "consent granted without consent_source: no consent without evidence"
            return row
        moment = _when(at, now) if at else None
        if moment is None:
            said = f"'{at[:30]}' is not a past date or time (ISO 8601)" if at else "is empty"
            row.error = f"consent granted but consent_at {said}: no consent without evidence"
            return row
        row.evidence = {"source": source[:200], "at": moment.isoformat()}
        if cells.get("consent_evidence"):
            row.evidence["text"] = cells["consent_evidence"][:1000]
    return row


def _records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit (128 KB)
        raise ImportRejected("bad_csv", f"The CSV cannot be read: {exc}.") from None


def _read(text: str, columns: dict[str, list[str]], now: datetime) -> list[_Row]:
    reader = csv.reader(io.StringIO(text))
    header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(reader)]
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(_records(reader), start=1):
        if len(rows) >= MAX_ROWS:
            raise ImportRejected("too_many_rows", f"A contacts CSV may have at most {MAX_ROWS} rows.")
        cells = {name: (values[i] if i < len(values) else "").strip() for i, name in enumerate(header)}
        row = _parse(number, cells, columns["consent"], now)
        row.attributes = {name: _typed(cells[name]) for name in columns["attributes"] if cells.get(name)}
        if not row.error and row.external_id in seen:
            row.error = f"external id '{row.external_id}' repeats row {seen[row.external_id]}"
        if not row.error:
            seen[row.external_id] = number
        rows.append(row)
    return rows


def _existing(external_ids: Sequence[str], *, lock: bool) -> dict[str, Contact]:
    found: dict[str, Contact] = {}
    for start in range(0, len(external_ids), 5000):
        query = Contact.objects.filter(external_id__in=external_ids[start : start + 5000])
        found.update((c.external_id, c) for c in (query.select_for_update() if lock else query))
    return found


def _changes(
    rows: Sequence[_Row], existing: Mapping[str, Contact]
) -> list[tuple[str, str, str, bool, dict[str, str]]]:
    """The consent entries to write: (external id, channel, purpose, granted, evidence), only
    where the ledger's current state differs (re-importing a file records nothing twice)."""
    states = consent_states(contact_ids=[c.pk for c in existing.values()])
    wanted = []
    for row in rows:
        contact = existing.get(row.external_id)
        for channel, purpose, granted in row.consent:
            if contact is not None and states.get((contact.pk, channel, purpose)) == granted:
                continue
            wanted.append((row.external_id, channel, purpose, granted, row.evidence))
    return wanted


def _report(rows: Sequence[_Row], existing: Mapping[str, Contact], consent: Sequence[Any]) -> dict[str, Any]:
    good = [r for r in rows if not r.error]
    bad = [r for r in rows if r.error]
    notes = [note for r in good for note in r.notes]
    return {
        "rows": len(rows),
        "create": sum(1 for r in good if r.external_id not in existing),
        "update": sum(1 for r in good if r.external_id in existing),
        "skipped": len(bad),
        "errors": [{"row": r.number, "error": r.error} for r in bad[:EXAMPLES_IN_REPORT]],
        "channels_dropped": len(notes),
        "notes": notes[:EXAMPLES_IN_REPORT],
        "consent_granted": sum(1 for c in consent if c[3]),
        "consent_withdrawn": sum(1 for c in consent if not c[3]),
    }


def contact_import_check(*, csv_text: str, file_name: str, user_id: int | None) -> ContactImport:
    """Keep an uploaded contacts CSV with its report: what importing it would do, row by row.
    Writes no contact. Raises ImportRejected (and keeps nothing) if the header is wrong."""
    columns = import_columns_check(csv_text)
    rows = _read(csv_text, columns, timezone.now())
    existing = _existing([r.external_id for r in rows if not r.error], lock=False)
    report = {**_report(rows, existing, _changes(rows, existing)), **columns}
    return ContactImport.objects.create(
        created_by_id=user_id, file_name=file_name[:200], csv_text=csv_text, report=report
    )


def contact_import_apply(*, contact_import: ContactImport, actor: Actor) -> dict[str, Any]:
    """Import a checked CSV once: create and update its good rows' contacts and record their
    consent with its evidence, all in one transaction. Returns the report of what was done."""
    now = timezone.now()
    with transaction.atomic():
        locked = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
        if locked.imported_at is not None:
            raise ImportRejected("already_imported", "This file was imported already.")
        columns = import_columns_check(locked.csv_text)
        rows = _read(locked.csv_text, columns, now)
        good = [r for r in rows if not r.error]
        existing = _existing([r.external_id for r in good], lock=True)
        consent = _changes(good, existing)
        report = {**_report(rows, existing, consent), **columns, "imported": True}
        items = []
        for r in good:
            contact = existing.get(r.external_id)
            base: dict[str, Any] = (
                {name: getattr(contact, name) for name in ("email", "phone", "locale", "timezone")}
                if contact is not None
                else {}
            )
            attributes = {**(contact.attributes if contact is not None else {}), **r.attributes}
            items.append(
                ContactData(external_id=r.external_id, **{**base, **r.profile}, attributes=attributes)
            )
        upserted: dict[str, Contact] = {}
        for start in range(0, len(items), 1000):
            done = contacts_upsert(items=items[start : start + 1000], actor=actor)
            upserted.update((c.external_id, c) for c in done.contacts)
        for external_id, channel, purpose, granted, evidence in consent:
            consent_record(
                contact=upserted[external_id],
                channel=channel,
                purpose=purpose,
                granted=granted,
                source=ConsentSource.IMPORT,
                actor=actor,
                evidence={**evidence, "import": str(locked.pk)},
            )
        locked.report, locked.imported_at = report, now
        locked.save(update_fields=["report", "imported_at"])
        audit_append(
            actor=actor,
            action="contacts.imported",
            object_type="contact_import",
            object_id=locked.pk,
            payload={k: report[k] for k in ("rows", "create", "update", "skipped", "consent_granted")},
        )
    return report
