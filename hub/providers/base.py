"""The one interface every provider implements, and the plumbing they share."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hub.providers.errors import ProviderError, UnexpectedProviderError

logger = logging.getLogger("hub.providers")


@dataclass(frozen=True)
class OutboundMessage:
    """What a provider needs to send one message. ``content`` holds subject/html/text/title/link."""

    message_id: str
    channel: str
    to: str
    content: Mapping[str, str]
    category: str = "transactional"
    status_callback_url: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """A provider accepted the message. ``simulated_delivery``: the sandbox will report delivery."""

    provider_message_id: str
    simulated_delivery: bool = False


class Provider:
    """Base class. Subclasses set ``channel`` and implement ``_send``; errors are ProviderError.

    The base owns timing and logging (never addresses or content: no personal data in logs).
    """

    channel: ClassVar[str] = ""
    default_timeout: ClassVar[float] = 10.0
    # How many calls of one batch may be in flight at once (HTTP providers raise this).
    default_concurrency: ClassVar[int] = 1

    def __init__(self, name: str, **options: Any) -> None:
        self.name = name
        self.timeout = float(options.pop("timeout", self.default_timeout) or self.default_timeout)
        self.concurrency = int(options.pop("concurrency", self.default_concurrency) or 1)
        self.options = options
        self._executor: ThreadPoolExecutor | None = None

    def send(self, message: OutboundMessage) -> SendResult:
        started = time.perf_counter()
        try:
            result = self._send(message)
        except ProviderError as exc:
            logger.warning(
                "provider=%s message=%s failed code=%s retryable=%s after %.0fms",
                self.name,
                message.message_id,
                exc.code,
                exc.retryable,
                (time.perf_counter() - started) * 1000,
            )
            raise
        logger.debug(
            "provider=%s message=%s accepted as %s in %.0fms",
            self.name,
            message.message_id,
            result.provider_message_id,
            (time.perf_counter() - started) * 1000,
        )
        return result

    def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult | ProviderError]:
        """Send several, up to ``concurrency`` at a time; one failure never stops the rest.
        Results are in the order of ``messages``. Vendors with batch APIs override this."""
        if self.concurrency <= 1 or len(messages) <= 1:
            return [self._send_one(m) for m in messages]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"provider-{self.name}")
        return list(self._executor.map(self._send_one, messages))

    def _send_one(self, message: OutboundMessage) -> SendResult | ProviderError:
        try:
            return self.send(message)
        except ProviderError as exc:
            return exc
        except Exception as exc:  # a bug in a provider module must not lose the batch
            logger.exception("provider=%s message=%s raised an unmapped error", self.name, message.message_id)
            return UnexpectedProviderError(f"{type(exc).__name__} in provider {self.name}", code="unexpected")

    def _send(self, message: OutboundMessage) -> SendResult:
        raise NotImplementedError
