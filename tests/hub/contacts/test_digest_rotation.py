"""Issue 14 point 1: rotating SECRET_KEY, or adding a digest key, never lifts an opt-out.

A STOP arrives through the real Twilio inbound webhook (really signed) at a gunicorn web
process; then the web and worker processes are restarted with a new SECRET_KEY, and a
transactional SMS to that number, given inline (no contact, so only the suppression can stop
it), must still be blocked as suppressed. The same after a new digest key is put in front.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.fakes.signing import twilio_signature
from bench.fakes.twilio import AUTH_TOKEN, FROM_NUMBER, fake_twilio_env, sent_messages
from bench.workers import process_env, web_process, worker_processes
from hub.apikeys.services import apikey_create
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from tests.factories import ORDER_DATA, make_live_template
from tests.servers import free_port
from tests.services import REDIS_BROKER_URL
from tests.worker import purge_queues, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PHONE = "+447911123987"
OLD_KEYS = "k2026a:" + "a" * 43
NEW_KEYS = "k2026b:" + "b" * 43 + "," + OLD_KEYS


@contextmanager
def hub_processes(tmp: Path, env: Mapping[str, str]) -> Iterator[str]:
    """A web and a worker process with this environment; yields the web's base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    full = process_env(REDIS_BROKER_URL, {**env, "HUB_BASE_URL": base})
    with (
        worker_processes(REDIS_BROKER_URL, tmp, extra_env=full),
        web_process(port, tmp / f"web-{port}.log", full),
    ):
        yield base


def post(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own server
        return int(response.status)


def stop_from(base: str, phone: str) -> None:
    url = f"{base}/webhooks/twilio/inbound"
    params = {"MessageSid": f"SM{secrets.token_hex(16)}", "From": phone, "To": FROM_NUMBER, "Body": "STOP"}
    signature = twilio_signature(url, params, AUTH_TOKEN)
    body = urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    assert post(url, body, headers) == 200


def send_inline(base: str, key: str, phone: str) -> Message:
    body = {"template": "order.shipped", "to": {"phone": phone}, "data": ORDER_DATA, "channels": ["sms"]}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    assert post(f"{base}/api/v1/notifications", json.dumps(body).encode(), headers) in {200, 201, 202}
    message = Message.objects.filter(to=phone).order_by("-created_at").first()
    assert message is not None
    settled = wait_for(
        lambda: (
            Message.objects.exclude(status__in=[S.ACCEPTED, S.QUEUED, S.SENDING])
            .filter(pk=message.pk)
            .first()
        ),
        timeout=60,
        what="the message to be decided and handled",
    )
    assert isinstance(settled, Message)
    return settled


def test_an_opt_out_survives_a_new_secret_key_and_a_new_digest_key(fake_twilio, tmp_path):
    purge_queues(REDIS_BROKER_URL)
    make_live_template()
    key = apikey_create(name="rotation").raw
    twilio = fake_twilio_env(fake_twilio)
    first = {**twilio, "SECRET_KEY": secrets.token_urlsafe(40), "HUB_DIGEST_KEYS": OLD_KEYS}
    with hub_processes(tmp_path, first) as base:
        stop_from(base, PHONE)
        before = send_inline(base, key, PHONE)
    assert (before.status, before.block_reason) == (S.BLOCKED, "suppressed")

    # Restarted with a new SECRET_KEY (the digest keys unchanged).
    second = {**first, "SECRET_KEY": secrets.token_urlsafe(40)}
    with hub_processes(tmp_path, second) as base:
        after_secret = send_inline(base, key, PHONE)
    assert (after_secret.status, after_secret.block_reason) == (S.BLOCKED, "suppressed")

    # Restarted again with a new digest key in front: the old one still finds the opt-out.
    third = {**second, "SECRET_KEY": secrets.token_urlsafe(40), "HUB_DIGEST_KEYS": NEW_KEYS}
    with hub_processes(tmp_path, third) as base:
        after_key = send_inline(base, key, PHONE)
    assert (after_key.status, after_key.block_reason) == (S.BLOCKED, "suppressed")
    assert [m for m in sent_messages(fake_twilio) if m.get("To") == PHONE] == []
