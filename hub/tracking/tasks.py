from __future__ import annotations

from typing import Any
from uuid import UUID

from celery import shared_task

from hub.providers.errors import RetryableProviderError
from hub.tracking.prices import message_price_fetch


@shared_task(name="hub.tracking.tasks.fetch_message_price", bind=True, max_retries=6)
def fetch_message_price(self: Any, message_id: str) -> bool:
    """The provider's price of one message (after its final status); retried while the
    provider has not billed it yet or cannot be reached."""
    try:
        return message_price_fetch(UUID(message_id))
    except RetryableProviderError as exc:
        raise self.retry(exc=exc, countdown=60 * (2**self.request.retries)) from exc
