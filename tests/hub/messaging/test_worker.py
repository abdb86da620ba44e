"""One send end to end through a real Celery worker process and a real broker.

Redis and RabbitMQ are required in CI (HUB_REQUIRE_SERVICES=1): there an unreachable broker
fails the test instead of skipping it. The embedded filesystem broker always runs.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from bench.fakes.twilio import fake_twilio_env, sent_messages
from hub.messaging.intake import NotificationRequest, notification_accept
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.providers.models import SandboxOutboxEntry
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import ORDER_DATA, make_live_template
from tests.services import RABBITMQ_BROKER_URL, REDIS_BROKER_URL, broker_reachable
from tests.worker import publishing_to, purge_queues, wait_for, worker_process

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKERS = {"filesystem": "filesystem://", "redis": REDIS_BROKER_URL, "rabbitmq": RABBITMQ_BROKER_URL}


@pytest.fixture(params=list(BROKERS))
def broker_url(request):
    url = BROKERS[request.param]
    if url.startswith(("redis://", "amqp://")) and (problem := broker_reachable(url)):
        if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{request.param} broker is required in CI and is not reachable: {problem}")
        pytest.skip(f"{request.param} broker not reachable here: {problem}")
    purge_queues(url)
    return url


def accept(phone="+447911123456"):
    template = make_live_template()
    request = NotificationRequest(
        template=template.key, to={"phone": phone}, data=ORDER_DATA, channels=["sms"]
    )
    return notification_accept(request=request, api_key=None)


def test_send_is_dispatched_by_worker_and_delivered_in_sandbox(broker_url, tmp_path):
    with worker_process(broker_url, tmp_path), publishing_to(broker_url):
        notification = accept()
        message = Message.objects.get(notification=notification)
        wait_for(
            lambda: Message.objects.filter(id=message.id, status=S.DELIVERED).exists(),
            timeout=60,
            what="the message to be delivered",
        )
    assert SandboxOutboxEntry.objects.filter(message_id=str(message.id)).count() == 1
    statuses = list(message.events.values_list("status", flat=True))
    assert statuses == ["accepted", "queued", "sending", "sent", "delivered"]
    assert audit_log_sequenced_and_verified().ok


def test_worker_sends_sms_through_twilio_sdk_once(fake_twilio, tmp_path):
    """With Twilio configured, the worker calls the (fake) Twilio API exactly once per message."""
    broker = REDIS_BROKER_URL if not broker_reachable(REDIS_BROKER_URL) else "filesystem://"
    purge_queues(broker)
    env = fake_twilio_env(fake_twilio)
    with worker_process(broker, tmp_path, env), publishing_to(broker):
        notification = accept()
        message = Message.objects.get(notification=notification)
        wait_for(
            lambda: Message.objects.filter(id=message.id, status=S.SENT).exists(),
            timeout=60,
            what="the message to be sent",
        )
    message.refresh_from_db()
    assert message.provider == "twilio"
    (form,) = sent_messages(fake_twilio)
    assert form["To"] == "+447911123456"
    assert settings.HUB_BASE_URL in form["StatusCallback"]
