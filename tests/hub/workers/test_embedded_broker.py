"""The embedded broker (``filesystem://``, what ``scripts/up`` runs on) survives concurrent
writers and readers and a damaged message file (issue 14, point 10; celery/kombu#1551: a reader
could open a message file its writer had not finished, and the worker died on the JSON)."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pytest
from kombu import Connection

from bench.fixtures import queued_messages_create
from hub.celery import send_queue
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.messaging.tasks import send_messages
from hub.workers import embedded_broker
from tests.worker import publishing_to, wait_for, worker_process

LANE = send_queue("sms", "transactional")
PUBLISHERS = 4
EACH = 40


@pytest.fixture
def broker_dir(settings, tmp_path):
    settings.BROKER_FILESYSTEM_DIR = tmp_path / "var" / "broker"
    return settings.BROKER_FILESYSTEM_DIR


def test_a_message_file_appears_only_once_complete(broker_dir, monkeypatch):
    """Written under a temporary name and renamed: a reader listing the folder at any moment
    sees either no file or the whole message."""
    seen: list[list[str]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        seen.append([p.name for p in broker_dir.glob("*.msg")])  # just before it becomes visible
        real_replace(src, dst)

    with publishing_to("filesystem://"), Connection("filesystem://", transport_options={
        "data_folder_in": str(broker_dir), "data_folder_out": str(broker_dir),
    }) as conn:  # fmt: skip
        channel: Any = conn.default_channel
        assert isinstance(channel, embedded_broker.Channel)
        monkeypatch.setattr(os, "replace", replace)
        channel._put(LANE, {"body": "x" * 100_000})
        monkeypatch.undo()
        assert seen == [[]]
        assert channel._get(LANE) == {"body": "x" * 100_000}


def test_an_unreadable_message_is_quarantined_not_fatal(broker_dir, caplog):
    with publishing_to("filesystem://"), Connection("filesystem://", transport_options={
        "data_folder_in": str(broker_dir), "data_folder_out": str(broker_dir),
    }) as conn:  # fmt: skip
        channel: Any = conn.default_channel
        bad = broker_dir / f"0_{uuid.uuid4()}.{LANE}.msg"
        bad.write_bytes(b'{"body": "eyJhbGc')  # cut off mid-write
        channel._put(LANE, {"body": "good"})
        assert channel._get(LANE) == {"body": "good"}
    assert not bad.exists()
    assert (broker_dir / "quarantine" / bad.name).read_bytes() == b'{"body": "eyJhbGc'
    assert any("quarantine" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sends_under_load_through_the_embedded_broker(broker_dir, tmp_path):
    """Several threads publish while a real worker consumes (and publishes its own follow-up
    tasks into the same folder); a truncated file sits among them. Every good message is
    sent, the bad file is quarantined, the worker lives."""
    ids = queued_messages_create(count=PUBLISHERS * EACH, phone="+447911123456")
    errors: list[BaseException] = []

    def publish(chunk: list[uuid.UUID]) -> None:
        try:
            for message_id in chunk:
                send_messages.apply_async(([str(message_id)],), queue=LANE)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    env = {"HUB_VAR_DIR": str(broker_dir.parent)}
    with (
        publishing_to("filesystem://"),
        worker_process("filesystem://", tmp_path, env, pool="prefork") as worker,
    ):
        threads = [
            threading.Thread(target=publish, args=(ids[i * EACH : (i + 1) * EACH],))
            for i in range(PUBLISHERS)
        ]
        for thread in threads:
            thread.start()
        bad = broker_dir / f"0_{uuid.uuid4()}.{LANE}.msg"
        bad.write_bytes(b'{"body": "eyJhbGciOi')
        for thread in threads:
            thread.join(timeout=120)

        def all_sent() -> bool:
            return Message.objects.filter(id__in=ids, status__in=[S.SENT, S.DELIVERED]).count() == len(ids)

        wait_for(all_sent, timeout=300, what="every message to be sent", interval=1)
        assert worker.poll() is None, "the worker died"
    assert not errors, errors
    assert (broker_dir / "quarantine" / bad.name).exists()
    assert not list(broker_dir.glob(f"*.{LANE}.msg"))
