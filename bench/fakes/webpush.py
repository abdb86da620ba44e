"""A fake Web Push service (RFC 8030) that decrypts what it receives (RFC 8291, aes128gcm)
with the subscription's private key, proving the encryption round trip.

``subscription(name)`` creates a browser-side key pair and auth secret and returns the
subscription JSON a browser would hand to the hub. Endpoints under ``/gone/`` answer 410.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.fakes.server import Call, FakeHandler, FakeServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def vapid_key_pair() -> tuple[str, str]:
    """(private, public) VAPID keys as the hub's settings take them: base64url raw."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(private), b64url(public)


class WebPushServer(FakeServer):
    def __init__(self) -> None:
        super().__init__(WebPushHandler)
        self.keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        self.received: list[dict[str, Any]] = []

    def subscription(self, gone: bool = False) -> dict[str, Any]:
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        path = f"/{'gone' if gone else 'push'}/{uuid.uuid4().hex}"
        self.keys[path] = (private, auth)
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.base_url + path, "keys": {"p256dh": b64url(public), "auth": b64url(auth)}}


class WebPushHandler(FakeHandler):
    server: WebPushServer

    def answer(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        if call.path.startswith("/gone/"):
            return 410, {"reason": "subscription expired"}, {}
        keys = self.server.keys.get(call.path)
        if call.method != "POST" or keys is None:
            return 404, {"reason": "no such subscription"}, {}
        if not call.headers.get("authorization", "").startswith("vapid t="):
            return 401, {"reason": "VAPID authorization missing"}, {}
        if "ttl" not in call.headers:
            return 400, {"reason": "TTL header missing"}, {}
        private, auth = keys
        plaintext = http_ece.decrypt(call.body, private_key=private, auth_secret=auth, version="aes128gcm")
        with self.server.lock:
            self.server.received.append(
                {"path": call.path, "ttl": int(call.headers["ttl"]), "payload": plaintext.decode()}
            )
        return 201, "", {"Location": f"{self.server.base_url}/messages/{uuid.uuid4().hex}"}


def start_fake_webpush() -> WebPushServer:
    server = WebPushServer()
    server.start()
    return server
