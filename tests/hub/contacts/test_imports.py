"""Issue 20, point 7: a marketer's CSV creates and updates contacts through the contacts
services (audited), records consent only with its evidence, and a bad address drops only its
own channel."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditRecord
from audit.services import Actor
from hub.contacts.imports import ImportRejected, contact_import_apply, contact_import_check
from hub.contacts.models import ConsentEntry, Contact, ContactImport
from hub.contacts.selectors import consent_state

HEADER = (
    "external_id,email,phone,tier,orders,consent_email_marketing,consent_source,consent_at,consent_evidence"
)


def imported(text: str) -> tuple[ContactImport, dict[str, Any]]:
    checked = contact_import_check(csv_text=text, file_name="people.csv", user_id=None)
    return checked, contact_import_apply(contact_import=checked, actor=Actor.system())


@pytest.mark.django_db
def test_creates_new_contacts_and_updates_known_ones_keeping_what_a_row_leaves_empty():
    Contact.objects.create(
        external_id="c-1",
        email="old@example.com",
        phone="+447900000001",
        attributes={"tier": "silver", "vip": True},
    )
    text = "\n".join([HEADER, "c-1,,,gold,3,,,,", "c-2,bob@example.com,+447900000002,bronze,012,,,,"])
    checked = contact_import_check(csv_text=text, file_name="people.csv", user_id=None)
    assert (checked.report["create"], checked.report["update"]) == (1, 1)
    assert Contact.objects.count() == 1  # the check writes no contact

    contact_import_apply(contact_import=checked, actor=Actor.system())
    ada = Contact.objects.get(external_id="c-1")
    assert (ada.email, ada.phone) == ("old@example.com", "+447900000001")  # empty cells keep
    assert ada.attributes == {"tier": "gold", "vip": True, "orders": 3}  # merged, typed
    bob = Contact.objects.get(external_id="c-2")
    assert bob.attributes == {"tier": "bronze", "orders": "012"}  # a leading zero stays text
    actions = sorted(AuditRecord.objects.filter(object_type="contact").values_list("action", flat=True))
    assert actions == ["contact.created", "contact.updated"]
    assert AuditRecord.objects.filter(action="contacts.imported").count() == 1


@pytest.mark.django_db
def test_consent_is_recorded_with_its_evidence_and_never_twice():
    text = "\n".join(
        [HEADER, "c-1,ada@example.com,,,,yes,Spring signup form,2026-03-01T10:00:00Z,I agree to offers (v3)"]
    )
    _, report = imported(text)
    assert report["consent_granted"] == 1
    entry = ConsentEntry.objects.get()
    assert (entry.channel, entry.purpose, entry.granted, entry.source) == (
        "email",
        "marketing",
        True,
        "import",
    )
    assert entry.evidence["source"] == "Spring signup form"
    assert entry.evidence["at"].startswith("2026-03-01T10:00:00")
    assert entry.evidence["text"] == "I agree to offers (v3)"
    assert AuditRecord.objects.filter(action="consent.granted").count() == 1
    _, again = imported(text)  # the same file again: the ledger already says so
    assert again["consent_granted"] == 0 and ConsentEntry.objects.count() == 1


@pytest.mark.django_db
def test_consent_columns_without_evidence_columns_refuse_the_file_and_keep_nothing():
    with pytest.raises(ImportRejected) as refused:
        contact_import_check(
            csv_text="external_id,consent_sms_marketing\nc-1,yes\n", file_name="x.csv", user_id=None
        )
    assert refused.value.code == "consent_without_evidence"
    assert "consent_source and consent_at" in refused.value.detail
    assert not ContactImport.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db
def test_a_bad_evidence_row_is_not_imported_and_says_why_the_others_are():
    text = "\n".join(
        [
            HEADER,
            "c-1,ada@example.com,,,,yes,Signup form,2026-03-01,",
            "c-2,bob@example.com,,,,yes,Signup form,,",  # no date
            "c-3,cy@example.com,,,,yes,,2026-03-01,",  # no source
            "c-4,di@example.com,,,,yes,Signup form,next week,",  # not a date
            "c-5,ed@example.com,,,,maybe,Signup form,2026-03-01,",  # not yes or no
            "c-6,fay@example.com,,,,yes,Signup form,2999-01-01,",  # in the future
        ]
    )
    _, report = imported(text)
    errors = {e["row"]: e["error"] for e in report["errors"]}
    assert errors == {
        2: "consent granted but consent_at is empty: no consent without evidence",
        3: "consent granted without consent_source: no consent without evidence",
        4: "consent granted but consent_at 'next week' is not a past date or time (ISO 8601): no consent without evidence",
        5: "consent_email_marketing is 'maybe': write yes or no (or leave it empty)",
        6: "consent granted but consent_at '2999-01-01' is not a past date or time (ISO 8601): no consent without evidence",
    }
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["c-1"]
    assert consent_state(contact=Contact.objects.get()) == {("email", "marketing"): True}


@pytest.mark.django_db
def test_a_bad_phone_drops_only_its_channel():
    _, report = imported("external_id,email,phone\nc-7,gil@example.com,+44 12\n")
    gil = Contact.objects.get(external_id="c-7")
    assert (gil.email, gil.phone) == ("gil@example.com", "")
    assert report["notes"] == ["row 1: phone '+44 12' invalid, not saved (SMS skipped)"]
    assert report["skipped"] == 0


@pytest.mark.django_db
def test_a_file_is_imported_once():
    checked, _ = imported("external_id\nc-1\n")
    with pytest.raises(ImportRejected) as refused:
        contact_import_apply(contact_import=checked, actor=Actor.system())
    assert refused.value.code == "already_imported"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("email,phone", "no_external_id"),
        ("external_id,consent_fax_marketing,consent_source,consent_at", "unknown_consent_column"),
        ("external_id,first name", "bad_attribute_name"),
        ("external_id,tier,TIER", "repeated_column"),
    ],
)
def test_a_wrong_header_is_refused(header, code):
    with pytest.raises(ImportRejected) as refused:
        contact_import_check(csv_text=header + "\n", file_name="x.csv", user_id=None)
    assert refused.value.code == code
    assert not ContactImport.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("external_id,note\nc1," + "x" * 200_000 + "\n", "bad_csv"),  # was a 500 (csv field size limit)
        ("external_id,note\nc1,a\x00b\n", "nul_character"),  # was a 500 (PostgreSQL refuses NUL)
        ("external_id\x00\nc1\n", "nul_character"),
        ("external_id," + ",".join(f"a{i}" for i in range(200)) + "\nc1\n", "too_many_columns"),
    ],
)
def test_a_hostile_file_is_refused_and_nothing_kept(text, code):
    with pytest.raises(ImportRejected) as refused:
        contact_import_check(csv_text=text, file_name="x.csv", user_id=None)
    assert refused.value.code == code
    assert not ContactImport.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db
def test_a_bom_and_a_formula_are_read_as_text():
    """The admin form decodes utf-8-sig, so the BOM is gone; a formula is an ordinary value
    (the CSV exports defuse it on the way out, hub.csv_cells)."""
    text = 'external_id,note\n=HYPERLINK("http://evil.example"),=1+1\n'
    contact_import_apply(
        contact_import=contact_import_check(csv_text=text, file_name="x.csv", user_id=None),
        actor=Actor.system(),
    )
    contact = Contact.objects.get()
    assert (contact.external_id, contact.attributes) == (
        '=HYPERLINK("http://evil.example")',
        {"note": "=1+1"},
    )
