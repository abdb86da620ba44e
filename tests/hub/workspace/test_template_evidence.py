"""The per-template evidence pack: the template's version/approval records and the accepted and
decision records of messages sent from it, in the contact pack's format, so ``verify_evidence``
checks it unchanged (a real process, no database) and refuses a changed record."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.urls import reverse

from audit.heads import audit_tree_head_write, audit_verifier_key
from audit.models import AuditRecord
from audit.sequencer import audit_sequence
from hub.workspace.template_evidence import template_evidence_pack_build
from tests.factories import make_live_template, make_message
from tests.hub.workspace.test_evidence_proofs import change_lines, rewrite, verify_evidence

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATE_EVIDENCE_URL = reverse("admin:workspace_workspacemessage_template_evidence")


@pytest.fixture
def pack(contact) -> bytes:
    template = make_live_template("order.evidence")
    make_live_template("other.template")
    make_message(template=template, contact=contact)
    audit_sequence()
    audit_tree_head_write()
    return template_evidence_pack_build(template=template)


def test_the_pack_holds_the_templates_records_and_verifies_offline(pack, tmp_path):
    archive = zipfile.ZipFile(io.BytesIO(pack))
    lines = [json.loads(x) for x in archive.read("audit_records.jsonl").decode().splitlines()]
    actions = {x["action"] for x in lines}
    assert {"template.version_approved", "notification.accepted"} <= actions
    assert not any("other.template" in x["canonical"] for x in lines)
    assert all(x["inclusion_proof"] is not None for x in lines)
    assert len(json.loads(archive.read("approvals.json"))) == 1
    path = tmp_path / "pack.zip"
    path.write_bytes(pack)
    result = verify_evidence(path, audit_verifier_key())
    assert result.returncode == 0, result.stderr
    assert f"Evidence pack OK: {len(lines)} records proven" in result.stdout


def test_a_changed_record_fails(pack, tmp_path):
    def edit(line: dict[str, Any]) -> None:
        line["canonical"] = line["canonical"].replace('"payload":{', '"payload":{"forged": true, ', 1)

    path = tmp_path / "pack.zip"
    path.write_bytes(rewrite(pack, "audit_records.jsonl", change_lines(0, edit)))
    result = verify_evidence(path, audit_verifier_key())
    assert result.returncode == 1
    assert "does not lead to the signed root" in result.stderr


def test_compliance_downloads_it_from_the_workspace_and_the_export_is_audited(client, staff_factory, contact):
    template = make_live_template("order.download")
    make_message(template=template, contact=contact)
    client.force_login(staff_factory("Compliance"))
    response = client.get(TEMPLATE_EVIDENCE_URL, {"template": "order.download", "since": "2020-01-01T00:00"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    messages = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("messages.json"))
    assert len(messages) == 1
    exported = AuditRecord.objects.get(action="evidence_pack.exported", object_type="template")
    assert exported.object_id == str(template.pk) and exported.payload["since"].startswith("2020-01-01")


def test_an_unknown_key_or_a_reversed_period_is_a_form_error(client, staff_factory):
    make_live_template("order.form")
    client.force_login(staff_factory("Compliance"))
    assert client.get(TEMPLATE_EVIDENCE_URL, {"template": "nope"}).status_code == 400
    reversed_period = {"template": "order.form", "since": "2026-02-01T00:00", "until": "2026-01-01T00:00"}
    assert client.get(TEMPLATE_EVIDENCE_URL, reversed_period).status_code == 400
    assert not AuditRecord.objects.filter(action="evidence_pack.exported").exists()


@pytest.mark.parametrize("role", ["Marketer", "Support", "Operator"])
def test_a_user_without_the_permission_gets_403(client, staff_factory, role):
    make_live_template("order.denied")
    client.force_login(staff_factory(role))
    assert client.get(TEMPLATE_EVIDENCE_URL, {"template": "order.denied"}).status_code == 403
    assert not AuditRecord.objects.filter(action="evidence_pack.exported").exists()


def test_the_workspace_links_to_it(client, staff_factory):
    client.force_login(staff_factory("Compliance"))
    workspace = reverse("admin:workspace_workspacemessage_changelist")
    assert TEMPLATE_EVIDENCE_URL in client.get(workspace).content.decode()
