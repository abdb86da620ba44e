"""The per-template evidence pack: the template's version/approval records and the accepted and
decision records of messages sent from it, in the contact pack's format, so ``verify_evidence``
checks it unchanged (a real process, no database) and refuses a changed record."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from audit.heads import audit_tree_head_write, audit_verifier_key
from audit.sequencer import audit_sequence
from hub.workspace.template_evidence import template_evidence_pack_build
from tests.factories import make_live_template, make_message
from tests.hub.workspace.test_evidence_proofs import change_lines, rewrite, verify_evidence

pytestmark = pytest.mark.django_db(transaction=True)


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
