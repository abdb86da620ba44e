"""A fake Twilio Messages API, close enough for the real ``twilio`` SDK to talk to."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any
from urllib.parse import parse_qs

from bench.fakes.server import Call, FakeHandler, FakeServer

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-token"
FROM_NUMBER = "+15005550006"
# Twilio's own magic test numbers keep their meaning here.
INVALID_NUMBER = "+15005550001"  # 21211
UNSUBSCRIBED_NUMBER = "+15005550004"  # 21610

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")
MESSAGE_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages/(?P<message>SM\w+)\.json$")
# What the fake bills a message (Twilio reports a price negative, in price_unit).
PRICE = "-0.00750"
PRICE_UNIT = "USD"


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioHandler(FakeHandler):
    def units(self, call: Call) -> int:
        """A message sent is a POST to Messages.json; a price lookup (GET) sends nothing."""
        return 1 if call.method == "POST" and MESSAGES_PATH.match(call.path) else 0

    def answer(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        fetched = MESSAGE_PATH.match(call.path)
        if call.method == "GET" and fetched is not None:
            return self.fetch(call, fetched["sid"], fetched["message"])
        match = MESSAGES_PATH.match(call.path)
        if call.method != "POST" or match is None:
            return 404, twilio_error(404, 20404, "The requested resource was not found"), {}
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if call.headers.get("authorization") != expected or match["sid"] != ACCOUNT_SID:
            return 401, twilio_error(401, 20003, "Authentication Error - invalid username"), {}
        form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
        to = form.get("To", "")
        if to == INVALID_NUMBER or not re.fullmatch(r"\+\d{8,15}", to):
            return 400, twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number."), {}
        if to == UNSUBSCRIBED_NUMBER:
            return 400, twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"), {}
        sid = "SM" + uuid.uuid4().hex
        return (
            201,
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body", ""),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
            {},
        )

    def fetch(self, call: Call, account: str, sid: str) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        """GET a Message resource: a delivered message billed at ``PRICE``."""
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if call.headers.get("authorization") != expected or account != ACCOUNT_SID:
            return 401, twilio_error(401, 20003, "Authentication Error - invalid username"), {}
        return (
            200,
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "status": "delivered",
                "num_segments": "1",
                "price": PRICE,
                "price_unit": PRICE_UNIT,
                "direction": "outbound-api",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
            {},
        )


def start_fake_twilio(*, keep_calls: bool = True) -> FakeServer:
    """A fake Twilio serving on a free port; with ``keep_calls=False`` it only counts calls
    (a long benchmark would otherwise keep every request it received)."""
    return FakeServer(TwilioHandler, keep_calls=keep_calls).start()


def sent_messages(server: FakeServer) -> list[dict[str, str]]:
    """The form bodies of the message creations the fake accepted or refused, in order."""
    return [
        {k: v[0] for k, v in parse_qs(c.body.decode()).items()}
        for c in server.calls
        if MESSAGES_PATH.match(c.path)
    ]


def twilio_env(base_url: str) -> dict[str, str]:
    """The environment that points a process's Twilio provider at the fake serving ``base_url``."""
    return {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": base_url,
    }


def fake_twilio_env(server: FakeServer) -> dict[str, str]:
    """The environment that points a worker's Twilio provider at this fake."""
    return twilio_env(server.base_url)
