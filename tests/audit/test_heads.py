"""Signed tree heads: C2SP checkpoints signed as C2SP notes, checked against the Go
implementation's published vector, written by the sequencer's task, kept in the table and the
file, POSTed, and the public key served."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import override_settings

from audit.heads import audit_public_key, audit_tree_head_write, audit_verifier_key
from audit.merkle import root_of
from audit.models import AuditTreeHead
from audit.notes import (
    Checkpoint,
    NoteError,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key,
)
from audit.sequencer import audit_sequence
from audit.services import Actor, AuditEntry, audit_append_many
from audit.tasks import sequence_audit_log
from audit.verify import audit_log_verify
from bench.fakes.server import Call, FakeHandler, FakeServer, Injection
from tests.audit.test_sequencer import expected_leaf

# golang.org/x/mod/sumdb/note's example: its key, text and signed note.
GO_PRIVATE = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(GO_PRIVATE.split("+", 4)[-1])
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_notes_match_the_go_implementation():
    key = go_key()
    assert verifier_key("PeterNeumann", key.public_key()) == GO_VERIFIER
    assert sign_note(GO_TEXT, "PeterNeumann", key) == GO_NOTE
    name, public = parse_verifier_key(GO_VERIFIER)
    assert open_note(GO_NOTE, name, public) == GO_TEXT


def test_a_changed_note_or_another_key_is_refused():
    name, public = parse_verifier_key(GO_VERIFIER)
    with pytest.raises(NoteError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), name, public)
    other = Ed25519PrivateKey.generate()
    with pytest.raises(NoteError):
        open_note(sign_note(GO_TEXT, "PeterNeumann", other), name, public)
    with pytest.raises(NoteError):
        parse_verifier_key(GO_VERIFIER.replace("c74f20a3", "c74f20a4"))


def test_checkpoints_round_trip():
    checkpoint = Checkpoint("example.com/log", 20852163, b"\x01" * 32, ("time 2026-12-06T13:00:00Z",))
    assert checkpoint.text() == (
        "example.com/log\n20852163\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\ntime 2026-12-06T13:00:00Z\n"
    )
    assert parse_checkpoint(checkpoint.text()) == checkpoint
    for bad in ["example.com/log\n01\nAQ==\n", "example.com/log\n1\n", "a\n1\nAQEB\n"]:
        with pytest.raises(NoteError):
            parse_checkpoint(bad)


@pytest.mark.django_db(transaction=True)
def test_the_task_sequences_and_signs_a_head_kept_in_the_table_and_the_file(tmp_path, settings):
    settings.HUB_AUDIT_TREE_HEAD_FILE = str(tmp_path / "heads.jsonl")
    records = audit_append_many(
        AuditEntry(Actor.system(), "test.fact", "thing", str(i), {}) for i in range(3)
    )
    assert sequence_audit_log.delay().get() == 3
    head = AuditTreeHead.objects.get()
    name, public = parse_verifier_key(audit_verifier_key())
    checkpoint = parse_checkpoint(open_note(head.note, name, public))
    assert checkpoint.origin == "test.switchboard.invalid/audit" == name
    assert (checkpoint.size, checkpoint.root) == (3, root_of([expected_leaf(r) for r in records]))
    assert checkpoint.extensions[0].startswith("time ")
    line = json.loads((tmp_path / "heads.jsonl").read_text())
    assert (line["tree_size"], line["note"]) == (3, head.note)
    # Not due again until HUB_AUDIT_CHECKPOINT_SECONDS have passed.
    sequence_audit_log()
    assert AuditTreeHead.objects.count() == 1
    with override_settings(HUB_AUDIT_CHECKPOINT_SECONDS=0):
        sequence_audit_log()
    assert AuditTreeHead.objects.count() == 2


@pytest.mark.django_db
def test_without_a_key_file_only_debug_signs_with_the_development_key(settings):
    settings.HUB_AUDIT_SIGNING_KEY_FILE = ""
    settings.DEBUG = True
    assert audit_public_key() is not None
    settings.DEBUG = False
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        audit_public_key()


@pytest.mark.django_db
def test_an_empty_log_has_no_head():
    assert audit_tree_head_write() is None


class HeadReceiver(FakeHandler):
    """An operator's archive or witness, taking the heads the hub POSTs."""

    def answer(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        return 200, {}, {}


@pytest.fixture
def receiver() -> Iterator[FakeServer]:
    server = FakeServer(HeadReceiver).start()
    yield server
    server.stop()


def head_after(n: int, tag: str) -> AuditTreeHead:
    audit_append_many(AuditEntry(Actor.system(), "test.fact", "thing", f"{tag}{i}", {}) for i in range(n))
    audit_sequence()
    head = audit_tree_head_write()
    assert head is not None
    return head


@pytest.mark.django_db(transaction=True)
def test_each_signed_head_is_posted_as_its_signed_note(receiver, settings):
    settings.HUB_AUDIT_TREE_HEAD_URL = f"{receiver.base_url}/heads"
    heads = [head_after(2, "a"), head_after(3, "b")]
    assert [(c.method, c.path, c.headers["content-type"]) for c in receiver.calls] == [
        ("POST", "/heads", "application/json")
    ] * 2
    name, public = parse_verifier_key(audit_verifier_key())
    for call, head in zip(receiver.calls, heads, strict=True):
        body = call.json()
        assert (body["tree_size"], body["note"]) == (head.tree_size, head.note)
        assert parse_checkpoint(open_note(body["note"], name, public)).size == head.tree_size


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", ["error status", "nobody listening"])
def test_a_failing_url_loses_no_head_and_says_so(receiver, settings, tmp_path, caplog, failure):
    settings.HUB_AUDIT_TREE_HEAD_FILE = str(tmp_path / "heads.jsonl")
    if failure == "error status":
        receiver.inject(Injection(503, {"error": "down"}))
        settings.HUB_AUDIT_TREE_HEAD_URL = f"{receiver.base_url}/heads"
    else:
        settings.HUB_AUDIT_TREE_HEAD_URL = "http://127.0.0.1:9/heads"  # discard port: refused
    with caplog.at_level(logging.WARNING, logger="audit.heads"):
        missed = head_after(2, "a")
    assert AuditTreeHead.objects.get().note == missed.note
    assert json.loads((tmp_path / "heads.jsonl").read_text())["note"] == missed.note
    [warning] = [r for r in caplog.records if r.name == "audit.heads"]
    assert warning.levelno == logging.WARNING
    assert "tree head of size 2 NOT delivered" in warning.getMessage()
    assert settings.HUB_AUDIT_TREE_HEAD_URL in warning.getMessage()
    # The next head goes out as usual (to a receiver that answers again).
    settings.HUB_AUDIT_TREE_HEAD_URL = f"{receiver.base_url}/heads"
    receiver.clear()
    following = head_after(1, "b")
    assert [c.json()["note"] for c in receiver.calls] == [following.note]
    assert audit_log_verify().ok
