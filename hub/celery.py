"""The Celery app, its queue names and routing.

Queue names are constants: a test checks each one is routed to and consumed. Sending is
split into lanes so transactional traffic never waits behind a marketing broadcast.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

CHANNELS = ("sms", "email", "push")
LANES = ("transactional", "marketing")

QUEUE_EVENTS = "events"
QUEUE_MAINTENANCE = "maintenance"


def send_queue(channel: str, lane: str) -> str:
    """Name of the queue that carries sends for one channel and lane."""
    return f"send.{channel}.{lane}"


SEND_QUEUES = tuple(send_queue(channel, lane) for channel in CHANNELS for lane in LANES)
ALL_QUEUES = (*SEND_QUEUES, QUEUE_EVENTS, QUEUE_MAINTENANCE)

app = Celery("hub")
# Read lazily, on first use of app.conf, so importing the app never reads settings.
app.config_from_object("hub.celeryconfig")
app.autodiscover_tasks()
