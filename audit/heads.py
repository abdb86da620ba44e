"""Signed tree heads: the key, writing a head, and publishing it outside the database."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from datetime import UTC, datetime

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from audit.models import AuditTreeHead, AuditTreeState
from audit.notes import Checkpoint, NoteError, parse_verifier_key, sign_note, verifier_key

logger = logging.getLogger(__name__)

# Used only with DEBUG on and no key file: anyone can sign with it, so its heads prove nothing.
_DEVELOPMENT_SEED = hashlib.sha256(b"switchboard development audit signing key").digest()


def audit_signing_key() -> Ed25519PrivateKey:
    path = settings.HUB_AUDIT_SIGNING_KEY_FILE
    if not path:
        if settings.DEBUG:
            return Ed25519PrivateKey.from_private_bytes(_DEVELOPMENT_SEED)
        raise ImproperlyConfigured(
            "HUB_AUDIT_SIGNING_KEY_FILE must name the audit log's Ed25519 key (PEM PKCS#8)"
        )
    with open(path, "rb") as stream:
        key = load_pem_private_key(stream.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{path} is not an Ed25519 private key")
    return key


def audit_public_key() -> Ed25519PublicKey:
    """HUB_AUDIT_PUBLIC_KEY, or the signing key's public half."""
    pem = settings.HUB_AUDIT_PUBLIC_KEY
    if not pem:
        return audit_signing_key().public_key()
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured("HUB_AUDIT_PUBLIC_KEY is not an Ed25519 public key")
    return key


def audit_verifier_key() -> str:
    """The verifier key string (name+id+key) for this log's heads."""
    return verifier_key(settings.HUB_AUDIT_LOG_ORIGIN, audit_public_key())


def audit_previous_verifier_keys() -> list[str]:
    """The verifier keys of HUB_AUDIT_TRUSTED_KEYS_FILE: those the log signed with before its
    current key (each checked to be a well-formed Ed25519 verifier key)."""
    path = settings.HUB_AUDIT_TRUSTED_KEYS_FILE
    if not path:
        return []
    with open(path, encoding="utf-8") as stream:
        lines = [line.strip() for line in stream]
    keys = [line for line in lines if line and not line.startswith("#")]
    for number, key in enumerate(keys, start=1):
        try:
            parse_verifier_key(key)
        except NoteError as exc:
            raise ImproperlyConfigured(f"HUB_AUDIT_TRUSTED_KEYS_FILE, key {number}: {exc}") from exc
    current = audit_verifier_key()
    return [key for key in keys if key != current]


def audit_trusted_keys() -> list[str]:
    """Every verifier key a tree head of this log may be signed by: the current one first."""
    return [audit_verifier_key(), *audit_previous_verifier_keys()]


def audit_public_key_pem() -> str:
    return audit_public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def tree_head_line(head: AuditTreeHead) -> str:
    """A head as one JSON line (HUB_AUDIT_TREE_HEAD_FILE, and the body POSTed)."""
    return json.dumps(
        {
            "tree_size": head.tree_size,
            "root_hash": base64.b64encode(bytes(head.root_hash)).decode(),
            "at": head.created_at.isoformat(),
            "note": head.note,
        }
    )


def audit_tree_head_write() -> AuditTreeHead | None:
    """Sign the tree as the sequencer last left it, store the head, append it to
    HUB_AUDIT_TREE_HEAD_FILE and POST it to HUB_AUDIT_TREE_HEAD_URL when set. None while the
    log is empty."""
    state = AuditTreeState.objects.order_by("-tree_size").first()
    if state is None:
        return None
    now = timezone.now()
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    root = bytes(state.root_hash)
    text = Checkpoint(settings.HUB_AUDIT_LOG_ORIGIN, state.tree_size, root, (f"time {stamp}",)).text()
    note = sign_note(text, settings.HUB_AUDIT_LOG_ORIGIN, audit_signing_key())
    head = AuditTreeHead.objects.create(tree_size=state.tree_size, root_hash=root, note=note, created_at=now)
    line = tree_head_line(head)
    path = settings.HUB_AUDIT_TREE_HEAD_FILE
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")
            stream.flush()
            os.fsync(stream.fileno())
    url = settings.HUB_AUDIT_TREE_HEAD_URL
    if url:
        # After commit, never inside a transaction. Not retried: the head is kept (table and
        # file) whether or not the receiver answers, a failure is logged, and the next head is
        # sent anyway; it covers the missed one (the tree only grows), and the receiver can be
        # given any missed head from HUB_AUDIT_TREE_HEAD_FILE or the admin.
        transaction.on_commit(lambda: _post(url, line, head.tree_size))
    return head


def _post(url: str, line: str, size: int) -> None:
    try:
        requests.post(
            url, data=line, headers={"Content-Type": "application/json"}, timeout=10
        ).raise_for_status()
    except requests.RequestException as exc:
        logger.warning(
            "audit tree head of size %s NOT delivered to HUB_AUDIT_TREE_HEAD_URL %s (kept in the database "
            "and HUB_AUDIT_TREE_HEAD_FILE; not retried, the next head is sent as usual): %s",
            size,
            url,
            exc,
        )


def audit_tree_head_due(*, at: datetime | None = None) -> bool:
    """Whether HUB_AUDIT_CHECKPOINT_SECONDS have passed since the last head (or there is none
    and the log is not empty). A head is signed even when the tree has not grown: its time
    shows the log was still this size then."""
    last = AuditTreeHead.objects.order_by("-created_at", "-id").first()
    state = AuditTreeState.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
    if state is None:
        return False
    if last is None:
        return True
    age = ((at or timezone.now()) - last.created_at).total_seconds()
    return age >= settings.HUB_AUDIT_CHECKPOINT_SECONDS
