"""Webhooks signed exactly as the providers sign them."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils.datastructures import MultiValueDict
from twilio.request_validator import RequestValidator


def twilio_signature(url: str, params: Mapping[str, str | list[str]], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted form parameters (a
    repeated key, given as a list, contributes each of its values)."""
    form = MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in params.items()})
    return str(RequestValidator(auth_token).compute_signature(url, form))


class SendGridSigner:
    """An ECDSA P-256 key pair, as SendGrid's signed Event Webhook uses."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key_b64(self) -> str:
        """The public key as SendGrid shows it (base64 DER), for SENDGRID_WEBHOOK_PUBLIC_KEY."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers SendGrid sends: signature over timestamp + raw body."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.private_key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": stamp,
        }

    def body(self, events: list[dict[str, Any]]) -> bytes:
        return json.dumps(events).encode()
