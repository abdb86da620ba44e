"""Signed tree heads in the formats transparency-log tooling already checks, as pure functions.

A tree head is a C2SP checkpoint (c2sp.org/tlog-checkpoint): the origin line, the tree size in
decimal, the base64 root hash, then optional extension lines (here one: ``time <RFC 3339>``),
each ending in a newline. It is signed as a C2SP signed note (c2sp.org/signed-note): the text,
a blank line, then one line per signature, "— <key name> <base64(key id || signature)>", the
dash being U+2014, with Ed25519 over the text's bytes. The key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || 32-byte public key); a verifier key is written
"<name>+<hex key id>+<base64(0x01 || public key)>". Nothing here reads settings or the database,
so ``verify_evidence`` can use it offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"  # the signed-note signature type of Ed25519
DASH = "\u2014"


class NoteError(ValueError):
    """A note or checkpoint that is malformed, or not signed by the key given."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(f"{line}\n" for line in lines)


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"{name!r} is not a key name (non-empty, no spaces, no '+')")


def parse_checkpoint(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise NoteError("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise NoteError("a checkpoint has at least three non-empty lines")
    origin, size, root = lines[:3]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"tree size {size!r} is not a decimal number")
    try:
        digest = base64.b64decode(root, validate=True)
    except binascii.Error as exc:
        raise NoteError("the root hash is not base64") from exc
    if len(digest) != 32:
        raise NoteError("the root hash is not 32 bytes")
    return Checkpoint(origin, int(size), digest, tuple(lines[3:]))


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_raw(key)).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The verifier key string witnesses and ``verify_evidence --public-key`` take."""
    _check_name(name)
    return f"{name}+{key_id(name, key).hex()}+{base64.b64encode(ED25519 + public_raw(key)).decode()}"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, hex_id, encoded = text.strip().split("+", 2)  # base64 may hold "+" too
        raw = base64.b64decode(encoded, validate=True)
        given_id = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("a verifier key is <name>+<hex key id>+<base64 key>") from exc
    _check_name(name)
    if len(raw) != 33 or raw[:1] != ED25519:
        raise NoteError("the verifier key is not an Ed25519 key")
    key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, key) != given_id:
        raise NoteError("the verifier key's id does not match its name and key")
    return name, key


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """``text`` (ending in a newline) signed as a note by ``key`` under ``name``."""
    _check_name(name)
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    signature = key_id(name, key.public_key()) + key.sign(text.encode())
    return f"{text}\n{DASH} {name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, name: str, key: Ed25519PublicKey) -> str:
    """The note's text if one of its signatures is ``key``'s under ``name``; NoteError if not."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is its text, a blank line and signature lines")
    text, signatures = note[: split + 1], note[split + 2 : -1].split("\n")
    wanted = key_id(name, key)
    for line in signatures:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"malformed signature line {line!r}")
        if parts[1] != name:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("a signature is not base64") from exc
        if raw[:4] != wanted or len(raw) != 68:
            continue
        try:
            key.verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"the signature by {name} does not verify") from exc
        return text
    raise NoteError(f"the note has no signature by {name}")


def open_note_any(note: str, keys: Sequence[tuple[str, Ed25519PublicKey]]) -> str:
    """The note's text if it is signed by any of ``keys`` (name, key): a log's current key and
    the keys it signed with before a rotation. NoteError if by none of them; a signature by
    one of them that does not verify (a changed note) is named before keys simply absent."""
    absent: list[str] = []
    for name, key in keys:
        try:
            return open_note(note, name, key)
        except NoteError as exc:
            if not str(exc).startswith("the note has no signature by"):
                raise
            absent.append(f"{name}+{key_id(name, key).hex()}")
    raise NoteError("the note has no signature by any trusted key (" + ", ".join(absent) + ")")
