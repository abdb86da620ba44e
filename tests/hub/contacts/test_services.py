"""Consent is an append-only ledger; suppressions are per address and idempotent; both audited."""

from __future__ import annotations

import pytest

from audit.digests import address_digest
from audit.models import AuditRecord
from audit.services import Actor
from hub.contacts.models import ConsentEntry, Suppression
from hub.contacts.services import consent_record, suppression_add


@pytest.mark.django_db
def test_consent_entries_append(contact):
    consent_record(
        contact=contact,
        channel="sms",
        purpose="marketing",
        granted=True,
        source="api",
        actor=Actor.api_key(1),
        evidence={"wording": "v1"},
    )
    consent_record(
        contact=contact,
        channel="sms",
        purpose="marketing",
        granted=False,
        source="sms_keyword",
        actor=Actor.provider("twilio"),
    )
    assert list(ConsentEntry.objects.values_list("granted", flat=True)) == [True, False]
    actions = list(AuditRecord.objects.filter(object_type="contact").values_list("action", flat=True))
    assert actions == ["consent.granted", "consent.withdrawn"]


@pytest.mark.django_db
def test_suppression_is_idempotent_and_audited_without_the_address():
    first = suppression_add(
        channel="sms", address="+447911123456", reason="sms_opt_out", actor=Actor.system()
    )
    again = suppression_add(
        channel="sms", address="+447911123456", reason="sms_opt_out", actor=Actor.system()
    )
    assert first.pk == again.pk and Suppression.objects.count() == 1
    record = AuditRecord.objects.get(action="suppression.added")
    assert record.payload["address_digest"] == address_digest("+447911123456")
    assert "+447911123456" not in str(record.payload)
