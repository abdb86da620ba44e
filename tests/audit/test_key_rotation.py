"""Rotating the signing key: heads signed before the rotation still verify when their key is
trusted (HUB_AUDIT_TRUSTED_KEYS_FILE for the hub, ``--public-key`` repeated for verify_audit and
verify_evidence), and without it the first head signed by the old key is named."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from audit.evidence import evidence_verify
from audit.heads import audit_tree_head_write, audit_trusted_keys, audit_verifier_key
from audit.models import AuditTreeHead
from audit.sequencer import audit_sequence
from audit.services import Actor, AuditEntry, audit_append_many
from audit.verify import audit_log_verify

pytestmark = pytest.mark.django_db(transaction=True)


def key_file(path: Path) -> str:
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.write_bytes(pem)
    return str(path)


def signed_head(settings, key: str, tag: str) -> AuditTreeHead:
    settings.HUB_AUDIT_SIGNING_KEY_FILE = key
    audit_append_many(
        AuditEntry(Actor.system(), "test.fact", "thing", f"{tag}{i}", {"n": i}) for i in range(3)
    )
    audit_sequence()
    head = audit_tree_head_write()
    assert head is not None
    return head


@pytest.fixture
def rotated(settings, tmp_path) -> dict[str, object]:
    """Heads signed by key A, then (after the rotation) by key B, the hub now holding B."""
    settings.HUB_AUDIT_TREE_HEAD_FILE = str(tmp_path / "heads.jsonl")
    first = signed_head(settings, key_file(tmp_path / "a.pem"), "a")
    key_a = audit_verifier_key()
    second = signed_head(settings, key_file(tmp_path / "b.pem"), "b")
    key_b = audit_verifier_key()
    return {"first": first, "second": second, "a": key_a, "b": key_b}


def test_heads_of_both_keys_verify_when_both_are_trusted(rotated, settings, tmp_path):
    trusted = tmp_path / "trusted.txt"
    trusted.write_text(f"# the key used until the rotation\n{rotated['a']}\n")
    settings.HUB_AUDIT_TRUSTED_KEYS_FILE = str(trusted)
    assert audit_trusted_keys() == [rotated["b"], rotated["a"]]
    report = audit_log_verify()
    assert report.ok, report.problem
    assert (report.checked, report.heads) == (6, 4)  # two heads, each in the table and the file
    call_command(
        "verify_audit", "--public-key", rotated["a"], "--public-key", rotated["b"], stdout=io.StringIO()
    )


def test_with_only_the_new_key_the_first_old_head_is_named(rotated):
    first = rotated["first"]
    report = audit_log_verify()  # the hub's own keys: only B, no trusted-keys file
    assert not report.ok
    assert report.problem.startswith(f"tree head #{first.id} (size 3) is not signed by the log's key")
    with pytest.raises(CommandError, match=rf"tree head #{first.id} \(size 3\) is not signed"):
        call_command("verify_audit", "--public-key", rotated["b"], stdout=io.StringIO())
    assert audit_log_verify(trusted_keys=[rotated["a"]]).problem.startswith(
        f"tree head #{rotated['second'].id} (size 6) is not signed"
    )


def test_the_well_known_path_lists_the_previous_keys(rotated, client, settings, tmp_path):
    trusted = tmp_path / "trusted.txt"
    trusted.write_text(f"{rotated['a']}\n{rotated['b']}\n")  # the current key listed too: shown once
    settings.HUB_AUDIT_TRUSTED_KEYS_FILE = str(trusted)
    lines = client.get("/.well-known/switchboard-audit-key").content.decode().splitlines()
    assert lines[0] == rotated["b"] and lines[1] == "-----BEGIN PUBLIC KEY-----"
    assert lines[-1] == f"previous {rotated['a']}" and sum(rotated["b"] in line for line in lines) == 1


def test_a_malformed_trusted_key_is_refused(settings, tmp_path):
    trusted = tmp_path / "trusted.txt"
    trusted.write_text("not-a-key\n")
    settings.HUB_AUDIT_TRUSTED_KEYS_FILE = str(trusted)
    with pytest.raises(ImproperlyConfigured, match="HUB_AUDIT_TRUSTED_KEYS_FILE, key 1"):
        audit_trusted_keys()


def test_an_evidence_pack_signed_before_the_rotation_verifies_with_both_keys(rotated):
    first = rotated["first"]
    pack = io.BytesIO()
    with zipfile.ZipFile(pack, "w") as archive:
        archive.writestr("tree_head.json", json.dumps({"note": first.note}))
        archive.writestr("audit_records.jsonl", "")
    both = evidence_verify(pack.getvalue(), public_keys=[rotated["b"], rotated["a"]])
    assert both.ok and both.head is not None and both.head.size == 3
    only_new = evidence_verify(pack.getvalue(), public_keys=[rotated["b"]])
    assert not only_new.ok and "no signature by any trusted key" in only_new.failures[0]
