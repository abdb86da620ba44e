"""A fake SendGrid v3 mail/send API, close enough for the real ``sendgrid`` SDK, with the
400 error shape SendGrid uses for invalid addresses."""

from __future__ import annotations

import re
import uuid
from typing import Any

from bench.fakes.server import Call, FakeHandler, FakeServer

API_KEY = "SG.fake-sendgrid-key"
FROM_EMAIL = "hub@example.com"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def sendgrid_env(host: str) -> dict[str, str]:
    """The environment that points a process's SendGrid provider at the fake serving ``host``."""
    return {"SENDGRID_API_KEY": API_KEY, "SENDGRID_FROM_EMAIL": FROM_EMAIL, "SENDGRID_API_HOST": host}


def sendgrid_errors(*errors: tuple[str, str | None]) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field, "help": None} for message, field in errors]}


class SendGridHandler(FakeHandler):
    def units(self, call: Call) -> int:
        """One request carries many recipients (personalizations)."""
        if call.method != "POST" or call.path != "/v3/mail/send":
            return 1
        try:
            return len(call.json().get("personalizations") or []) or 1
        except ValueError:
            return 1

    def answer(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        if call.method != "POST" or call.path != "/v3/mail/send":
            return 404, sendgrid_errors(("Not found", None)), {}
        if call.headers.get("authorization") != f"Bearer {API_KEY}":
            return (
                401,
                sendgrid_errors(("The provided authorization grant is invalid, expired, or revoked", None)),
                {},
            )
        body = call.json()
        personalizations = body.get("personalizations") or []
        if not 1 <= len(personalizations) <= 1000:
            return 400, sendgrid_errors(("Between 1 and 1000 personalizations", "personalizations")), {}
        for index, personalization in enumerate(personalizations):
            for to_index, to in enumerate(personalization.get("to", [])):
                if not EMAIL.match(to.get("email", "")):
                    field = f"personalizations.{index}.to.{to_index}.email"
                    return 400, sendgrid_errors(("Does not contain a valid address.", field)), {}
        if not body.get("from", {}).get("email"):
            return 400, sendgrid_errors(("The from object must be provided", "from")), {}
        return 202, "", {"X-Message-Id": uuid.uuid4().hex[:22]}


def start_fake_sendgrid() -> FakeServer:
    return FakeServer(SendGridHandler).start()


def sent_mails(server: FakeServer) -> list[dict[str, Any]]:
    """The JSON bodies of every mail/send request received, in order."""
    return [c.json() for c in server.calls if c.path == "/v3/mail/send"]
