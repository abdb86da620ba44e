"""The one interface every provider implements, and the plumbing they share.

The base class owns what every vendor module would otherwise repeat: an HTTP session with
keep-alive and a timeout on every call, timing and logging (never addresses or content: no
personal data in logs), and the mapping of transport failures and HTTP statuses to our
error hierarchy. A vendor module declares its channel, its own code table and ``_send``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any, ClassVar
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter

from hub.providers.errors import (
    PermanentProviderError,
    ProviderConfigurationError,
    ProviderError,
    RetryableProviderError,
    UnexpectedProviderError,
)

logger = logging.getLogger("hub.providers")


# The Message-ID every outbound email carries, so that a reply's In-Reply-To or References
# header names the message it answers (hub.contacts.inbound matches it).
EMAIL_MESSAGE_ID_DOMAIN = "switchboard"
_OUR_MESSAGE_ID = re.compile(
    r"<([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@" + EMAIL_MESSAGE_ID_DOMAIN + ">",
    re.IGNORECASE,
)


def email_message_id(message_id: object) -> str:
    """The RFC 5322 Message-ID of our message ``message_id``."""
    return f"<{message_id}@{EMAIL_MESSAGE_ID_DOMAIN}>"


def email_message_ids_in(header: str) -> list[str]:
    """Our message ids named in an In-Reply-To or References header, in the header's order."""
    return [m.lower() for m in _OUR_MESSAGE_ID.findall(header or "")]


@dataclass(frozen=True)
class OutboundMessage:
    """What a provider needs to send one message. ``content`` holds subject/html/text/title/link.

    ``metadata`` carries what a channel needs besides the address: for push the device
    (``device_kind``, ``subscription``), for email ``unsubscribe_url`` on marketing mail.
    """

    message_id: str
    channel: str
    to: str
    content: Mapping[str, str]
    category: str = "transactional"
    status_callback_url: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def list_unsubscribe_headers(message: OutboundMessage) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe headers for a marketing email with the hub's ``/u/`` link;
    none otherwise. Every email provider (and the sandbox's outbox) sends exactly these."""
    unsubscribe_url = message.metadata.get("unsubscribe_url", "")
    if message.category != "marketing" or not unsubscribe_url:
        return {}
    return {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@dataclass(frozen=True)
class SendResult:
    """A provider accepted the message. ``simulated_delivery``: the sandbox will report delivery."""

    provider_message_id: str
    simulated_delivery: bool = False


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a vendor asked for: ``Retry-After`` (seconds or an HTTP date) or
    ``X-RateLimit-Reset`` (epoch seconds). None when it gave no hint."""
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time() if now is None else now
    raw = lowered.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return max(0.0, when.timestamp() - now)
    reset = lowered.get("x-ratelimit-reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        # Some vendors send an epoch, some a number of seconds.
        return max(0.0, value - now) if value > 1_000_000_000 else value
    return None


def error_for_status(
    vendor: str,
    status: int,
    *,
    code: str = "",
    detail: str = "",
    headers: Mapping[str, str] | None = None,
) -> ProviderError:
    """The default HTTP table: 401/403 configuration, 408/429/5xx retryable, other 4xx permanent.
    Vendor modules consult their own code table first and fall back to this."""
    text = f"{vendor} {status} {code}: {detail}".strip()
    if status in (401, 403):
        return ProviderConfigurationError(text, code=code or str(status), http_status=status)
    if status in (408, 429) or status >= 500:
        return RetryableProviderError(
            text,
            code=code or str(status),
            http_status=status,
            retry_after=retry_after_seconds(headers or {}),
        )
    return PermanentProviderError(text, code=code or str(status), http_status=status)


def needs_environment() -> bool:
    """Whether HTTP sessions must consult the environment on every request: only when proxy
    variables are set. Otherwise requests would scan ``os.environ`` and stat ``~/.netrc`` per
    call, which costs more CPU than the rest of a keep-alive request."""
    return bool(getproxies())


class Provider:
    """Base class. Subclasses set ``channel`` and implement ``_send``; errors are ProviderError.

    Options every provider understands: ``timeout`` (seconds, always applied),
    ``rate_per_second`` and ``burst`` (the token bucket, see ``hub.providers.ratelimit``).
    """

    channel: ClassVar[str] = ""
    vendor: ClassVar[str] = "provider"
    default_timeout: ClassVar[float] = 10.0
    # How many calls of one batch may be in flight at once (HTTP providers raise this).
    default_concurrency: ClassVar[int] = 1

    def __init__(self, name: str, **options: Any) -> None:
        self.name = name
        self.timeout = float(options.pop("timeout", self.default_timeout) or self.default_timeout)
        self.concurrency = int(options.pop("concurrency", self.default_concurrency) or 1)
        rate = options.pop("rate_per_second", None)
        self.rate_per_second: float | None = float(rate) if rate else None
        self.burst = float(options.pop("burst", 0) or 0) or (self.rate_per_second or 0.0)
        self.options = options
        self._executor: ThreadPoolExecutor | None = None

    # --- what routing asks ---------------------------------------------------------------
    def accepts(self, message: OutboundMessage) -> bool:
        """Whether this provider can carry this message (e.g. FCM only FCM devices)."""
        return True

    def rate_limit_key(self, message: OutboundMessage) -> str:
        """The bucket a send draws from: the provider, or a finer sender (e.g. a from-number)."""
        return self.name

    # --- plumbing ------------------------------------------------------------------------
    @cached_property
    def session(self) -> requests.Session:
        """One keep-alive session per provider instance (i.e. per worker process)."""
        session = requests.Session()
        session.trust_env = needs_environment()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = "switchboard-hub"
        return session

    def http(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """An HTTP call through the shared session, always with the provider's timeout."""
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, url, **kwargs)

    def send(self, message: OutboundMessage) -> SendResult:
        started = time.perf_counter()
        try:
            try:
                result = self._send(message)
            except ProviderError:
                raise
            except (requests.Timeout, TimeoutError, requests.ConnectionError, ConnectionError) as exc:
                raise self.transport_error(exc) from exc
        except ProviderError as exc:
            self.log_failure(message, exc, started)
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
        except Exception as exc:  # noqa: BLE001 - a bug in a provider module must not lose the batch
            return self.unexpected(message, exc)

    def transport_error(self, exc: BaseException) -> RetryableProviderError:
        """A call that got no answer: it timed out, or never reached the vendor."""
        if isinstance(exc, requests.Timeout | TimeoutError):
            return RetryableProviderError(f"{self.vendor} did not answer in time", code="timeout")
        return RetryableProviderError(f"{self.vendor} unreachable: {type(exc).__name__}", code="network")

    def log_failure(self, message: OutboundMessage, exc: ProviderError, started: float) -> None:
        logger.warning(
            "provider=%s message=%s failed code=%s retryable=%s after %.0fms",
            self.name,
            message.message_id,
            exc.code,
            exc.retryable,
            (time.perf_counter() - started) * 1000,
        )

    def unexpected(self, message: OutboundMessage, exc: Exception) -> ProviderError:
        """What an error no provider module mapped becomes (logged with its traceback)."""
        logger.error(
            "provider=%s message=%s raised an unmapped error",
            self.name,
            message.message_id,
            exc_info=exc,
        )
        return UnexpectedProviderError(f"{type(exc).__name__} in provider {self.name}", code="unexpected")

    def _send(self, message: OutboundMessage) -> SendResult:
        raise NotImplementedError
