"""The evidence pack: a compliance user downloads, in admin, one zip proving what happened
to a contact, including that no marketing SMS reached them after their STOP."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from audit.digests import address_digest
from audit.models import AuditRecord
from audit.services import Actor, canonical_hash
from hub.contacts.models import ConsentSource, SuppressionReason
from hub.contacts.services import consent_record, suppression_add
from templates_app.models import Category
from tests.factories import make_live_template, make_message

EVIDENCE_URL = reverse("admin:workspace_workspacemessage_evidence")


@pytest.fixture
def marketing_sms(db):
    return make_live_template(
        "promo.sale",
        category=Category.MARKETING,
        variants=[{"channel": "sms", "locale": "en", "text": "Sale! Reply STOP to opt out."}],
    )


@pytest.fixture
def stopped_contact(contact, marketing_sms, live_template):
    """Marketing SMS delivered, then STOP, then two marketing SMS blocked and a transactional one sent."""
    consent_record(
        contact=contact, channel="sms", purpose="marketing", granted=True, source=ConsentSource.API,
        actor=Actor.api_key(1), evidence={"wording": "v3", "ip": "203.0.113.9"},
    )  # fmt: skip
    before = make_message(template=marketing_sms, contact=contact, outcome="delivered")
    consent_record(
        contact=contact, channel="sms", purpose="marketing", granted=False, source=ConsentSource.SMS_KEYWORD,
        actor=Actor.provider("twilio"), evidence={"keyword": "STOP", "inbound": "SMxyz"},
    )  # fmt: skip
    suppression_add(
        channel="sms",
        address=contact.phone,
        reason=SuppressionReason.SMS_OPT_OUT,
        actor=Actor.provider("twilio"),
    )
    # The compliance engine blocks these at accept: the STOP's suppression and withdrawn consent.
    blocked = [make_message(template=marketing_sms, contact=contact, outcome="queued") for _ in range(2)]
    assert all(m.status == "blocked" for m in blocked)
    transactional = make_message(template=live_template, contact=contact, outcome="delivered")
    return {"before": before, "blocked": blocked, "transactional": transactional}


def download(client, user, external_id):
    client.force_login(user)
    return client.get(EVIDENCE_URL, {"contact": external_id})


def test_compliance_user_gets_a_pack_proving_no_marketing_sms_after_stop(
    client, staff_factory, contact, stopped_contact
):
    response = download(client, staff_factory("Compliance"), contact.external_id)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(response.content))
    summary = pack.read("SUMMARY.txt").decode()
    assert (
        "No marketing SMS reached the contact in this window. 2 were attempted; 2 blocked (suppressed)."
        in summary
    )
    assert "VIOLATION" not in summary
    assert "recorded by consent ledger (sms_keyword)" in summary
    assert "recorded by suppression (sms_opt_out)" in summary

    messages = {m["id"]: m for m in json.loads(pack.read("messages.json"))}
    assert set(messages) == {
        str(m.id)
        for m in [stopped_contact["before"], *stopped_contact["blocked"], stopped_contact["transactional"]]
    }
    blocked = messages[str(stopped_contact["blocked"][0].id)]
    assert blocked["decision"]["sentence"].startswith("blocked by ")  # the engine's own sentence
    assert [e["status"] for e in blocked["timeline"]] == ["accepted", "blocked"]
    consents = json.loads(pack.read("consents.json"))
    assert [(c["granted"], c["source"], c["evidence"]) for c in consents] == [
        (True, "api", {"wording": "v3", "ip": "203.0.113.9"}),
        (False, "sms_keyword", {"keyword": "STOP", "inbound": "SMxyz"}),
    ]
    suppressions = json.loads(pack.read("suppressions.json"))
    assert [(s["reason"], s["address_hash"]) for s in suppressions] == [
        ("sms_opt_out", address_digest(contact.phone))
    ]

    records = [json.loads(line) for line in pack.read("audit_records.jsonl").decode().splitlines()]
    actions = {r["action"] for r in records}
    assert {"consent.granted", "consent.withdrawn", "suppression.added", "message.accepted", "message.status_changed",
            "notification.accepted"} <= actions  # fmt: skip
    assert all(r["hash_matches"] and canonical_hash(r["canonical"]) == r["hash"] for r in records)
    # The pack itself is on the record: who took it.
    assert AuditRecord.objects.filter(action="evidence_pack.exported", object_id=str(contact.pk)).exists()


def test_a_marketing_sms_sent_after_stop_is_reported_as_a_violation(
    client, staff_factory, contact, marketing_sms
):
    consent_record(
        contact=contact, channel="sms", purpose="marketing", granted=False, source=ConsentSource.SMS_KEYWORD,
        actor=Actor.system(),
    )  # fmt: skip
    leaked = make_message(template=marketing_sms, contact=contact, outcome="delivered")
    summary = zipfile.ZipFile(
        io.BytesIO(download(client, staff_factory("Compliance"), contact.external_id).content)
    )
    text = summary.read("SUMMARY.txt").decode()
    assert f"VIOLATION: 1 marketing SMS handed to a provider in this window: {leaked.id}" in text


def test_opting_in_again_closes_the_window(client, staff_factory, contact, marketing_sms):
    for granted in (False, True):
        consent_record(
            contact=contact,
            channel="sms",
            purpose="marketing",
            granted=granted,
            source="sms_keyword",
            actor=Actor.system(),
        )
    make_message(template=marketing_sms, contact=contact, outcome="delivered")
    text = zipfile.ZipFile(
        io.BytesIO(download(client, staff_factory("Compliance"), contact.external_id).content)
    ).read("SUMMARY.txt")
    assert b"VIOLATION" not in text and b"0 were attempted" in text


@pytest.mark.parametrize("role", ["Support", "Marketer", "Operator"])
def test_other_roles_cannot_download_packs(client, staff_factory, contact, role):
    assert download(client, staff_factory(role), contact.external_id).status_code == 403


def test_unknown_contact_is_a_form_error(client, staff_factory, db):
    response = download(client, staff_factory("Compliance"), "nobody")
    assert response.status_code == 400
    assert b"There is no contact with this external id." in response.content
    assert not AuditRecord.objects.filter(action="evidence_pack.exported").exists()
