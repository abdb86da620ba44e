"""A fake FCM HTTP v1 API and its OAuth token endpoint.

The token endpoint checks the JWT assertion google-auth signs with the service account's
key (RS256, verified with the test key's public half) and hands out access tokens; the send
endpoint only accepts those tokens. Tokens starting ``unregistered`` answer FCM's 404
UNREGISTERED.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.fakes.server import Call, FakeHandler, FakeServer

PROJECT_ID = "switchboard-test"
SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[\w-]+)/messages:send$")
UNREGISTERED_PREFIX = "unregistered"


def fcm_error(status: int, state: str, error_code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "status": state,
            "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}
            ],
        }
    }


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FcmServer(FakeServer):
    def __init__(self) -> None:
        super().__init__(FcmHandler)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.access_tokens: set[str] = set()
        self.token_requests = 0

    def service_account_file(self, folder: Path) -> Path:
        """A service-account JSON whose ``token_uri`` points at this fake."""
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        path = folder / "fcm-service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": PROJECT_ID,
                    "private_key_id": "test-key-1",
                    "private_key": pem,
                    "client_email": f"hub@{PROJECT_ID}.iam.gserviceaccount.com",
                    "client_id": "1",
                    "token_uri": f"{self.base_url}/token",
                }
            )
        )
        return path

    def assertion_valid(self, assertion: str) -> bool:
        try:
            header, payload, signature = assertion.split(".")
            self.private_key.public_key().verify(
                _b64url_decode(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:  # noqa: BLE001 - any malformed assertion is refused
            return False
        claims = json.loads(_b64url_decode(payload))
        # google-auth puts Google's own token URL in ``aud`` whichever token_uri it posts to.
        audiences = {f"{self.base_url}/token", "https://oauth2.googleapis.com/token"}
        return claims.get("aud") in audiences and "firebase.messaging" in claims.get("scope", "")


class FcmHandler(FakeHandler):
    server: FcmServer

    def answer(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        if call.path == "/token" and call.method == "POST":
            form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
            if not self.server.assertion_valid(form.get("assertion", "")):
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, {}
            token = "ya29.fake-" + uuid.uuid4().hex
            with self.server.lock:
                self.server.access_tokens.add(token)
                self.server.token_requests += 1
            return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}, {}
        match = SEND_PATH.match(call.path)
        if call.method != "POST" or match is None:
            return 404, fcm_error(404, "NOT_FOUND", "UNSPECIFIED_ERROR", "Not found"), {}
        bearer = call.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.server.access_tokens:
            return (
                401,
                fcm_error(
                    401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Request had invalid credentials."
                ),
                {},
            )
        message = call.json().get("message", {})
        token = message.get("token", "")
        if token.startswith(UNREGISTERED_PREFIX):
            return 404, fcm_error(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."), {}
        if not token:
            return (
                400,
                fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid registration token"),
                {},
            )
        return 200, {"name": f"projects/{match['project']}/messages/{uuid.uuid4().int % 10**16}"}, {}


def start_fake_fcm() -> FcmServer:
    server = FcmServer()
    server.start()
    return server


def sent_pushes(server: FakeServer) -> list[dict[str, Any]]:
    return [c.json()["message"] for c in server.calls if SEND_PATH.match(c.path)]
