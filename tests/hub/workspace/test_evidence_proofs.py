"""Evidence anyone can check: the pack carries each audit record's inclusion proof and the signed
tree head it is proven against; ``verify_evidence`` checks it offline (a real process, no
database) and refuses a changed record, a changed proof step and the wrong key."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from audit.heads import audit_tree_head_write, audit_verifier_key
from audit.notes import verifier_key
from audit.sequencer import audit_sequence
from audit.services import Actor
from hub.contacts.models import ConsentSource
from hub.contacts.services import consent_record
from hub.workspace.evidence import evidence_pack_build

pytestmark = pytest.mark.django_db(transaction=True)


def verify_evidence(path: Path, key: str) -> subprocess.CompletedProcess[str]:
    # No DATABASE_URL that works: the check must not need the database.
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "verify_evidence", str(path), "--public-key", key],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rewrite(pack: bytes, name: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(pack))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            target.writestr(item, change(data) if item == name else data)
    return out.getvalue()


def change_lines(index: int, edit):
    def change(data: bytes) -> bytes:
        lines = [json.loads(x) for x in data.decode().splitlines()]
        edit(lines[index])
        return "".join(json.dumps(x) + "\n" for x in lines).encode()

    return change


@pytest.fixture
def pack(contact, tmp_path) -> bytes:
    for granted in (True, False, True):
        consent_record(
            contact=contact, channel="sms", purpose="marketing", granted=granted,
            source=ConsentSource.API, actor=Actor.api_key(1), evidence={"wording": "v3"},
        )  # fmt: skip
    audit_sequence()
    audit_tree_head_write()
    consent_record(
        contact=contact,
        channel="email",
        purpose="marketing",
        granted=True,
        source=ConsentSource.API,
        actor=Actor.api_key(1),
        evidence={},
    )  # fmt: skip  (newer than the head: in the pack, not yet provable)
    return evidence_pack_build(contact=contact)


def test_the_pack_carries_proofs_and_the_head_and_verifies_offline(pack, tmp_path):
    archive = zipfile.ZipFile(io.BytesIO(pack))
    head = json.loads(archive.read("tree_head.json"))
    assert head["tree_size"] == 3 and "\n\n\u2014 test.switchboard.invalid/audit " in head["note"]
    lines = [json.loads(x) for x in archive.read("audit_records.jsonl").decode().splitlines()]
    assert [x["leaf_index"] for x in lines] == [0, 1, 2, None]
    assert lines[0]["inclusion_proof"] and lines[3]["inclusion_proof"] is None
    path = tmp_path / "pack.zip"
    path.write_bytes(pack)
    result = verify_evidence(path, audit_verifier_key())
    assert result.returncode == 0, result.stderr
    assert "Evidence pack OK: 3 records proven" in result.stdout
    assert "1 record(s) newer than the pack's tree head" in result.stdout


def test_a_changed_record_fails(pack, tmp_path):
    def edit(line: dict[str, Any]) -> None:
        assert '"payload":{' in line["canonical"]
        line["canonical"] = line["canonical"].replace('"payload":{', '"payload":{"forged": true, ', 1)

    path = tmp_path / "pack.zip"
    path.write_bytes(rewrite(pack, "audit_records.jsonl", change_lines(1, edit)))
    result = verify_evidence(path, audit_verifier_key())
    assert result.returncode == 1
    assert "inclusion proof (leaf 1) does not lead to the signed root" in result.stderr


def test_a_changed_proof_step_fails(pack, tmp_path):
    def edit(line: dict[str, Any]) -> None:
        step = bytearray(base64.b64decode(line["inclusion_proof"][0]))
        step[0] ^= 1
        line["inclusion_proof"][0] = base64.b64encode(bytes(step)).decode()

    path = tmp_path / "pack.zip"
    path.write_bytes(rewrite(pack, "audit_records.jsonl", change_lines(0, edit)))
    result = verify_evidence(path, audit_verifier_key())
    assert result.returncode == 1 and "record #" in result.stderr


def test_the_wrong_key_fails(pack, tmp_path):
    path = tmp_path / "pack.zip"
    path.write_bytes(pack)
    other = verifier_key("test.switchboard.invalid/audit", Ed25519PrivateKey.generate().public_key())
    result = verify_evidence(path, other)
    assert result.returncode == 1 and "the tree head is not signed by" in result.stderr
