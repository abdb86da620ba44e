"""SMS through Twilio's official SDK.

The SDK is given our own HTTP client so that every call has a timeout (the SDK's default
waits forever) and so that TWILIO_API_BASE_URL (a regional edge, a proxy, a test double)
is honoured. Errors are mapped by the table below, the vendor's code kept.

A batch goes out through the SDK's asynchronous API (``create_async`` on an aiohttp client),
``concurrency`` calls at a time on one event loop: measured against the fake Twilio, a call
costs the worker 0.26 ms of CPU that way and 0.72 ms through ``requests`` from a thread pool
(``python manage.py bench --only p1 --channels sms`` shows the effect on the whole pipeline).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import io
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote_plus, urlencode

import aiohttp
import requests

# The SDK imports its REST resources on first use: ~100 modules, ~7 MB. Imported with this
# module instead, they are loaded once in a prefork worker's main process (see
# hub.providers.registry.backends_preload) and shared by its children, not copied into each
# child by its first send.
import twilio.rest.api.v2010.account  # noqa: F401
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from hub.providers.base import OutboundMessage, Provider, SendResult, needs_environment, retry_after_seconds
from hub.providers.errors import (
    PermanentProviderError,
    ProviderConfigurationError,
    ProviderError,
    RetryableProviderError,
)

TWILIO_API_ORIGIN = "https://api.twilio.com"

# Twilio error codes that mean "never send to this number again" (suppress) or "this
# message can never succeed" (permanent). Anything else 4xx is permanent, 5xx retryable.
# 21610: the person texted STOP to us; their consent is withdrawn as well.
OPTED_OUT_CODES = {21610: "recipient unsubscribed (STOP)"}
SUPPRESSING_CODES = {21614: "not a mobile number"}
PERMANENT_CODES = {21211: "invalid 'To' number", 21408: "region not enabled", 21612: "unreachable"}
RETRYABLE_CODES = {20429: "too many requests", 30001: "queue overflow"}


class _BaseUrlHttpClient(TwilioHttpClient):
    """Sends to ``base_url`` instead of api.twilio.com, always with a timeout, on a connection
    pool as large as the number of calls the provider makes at once."""

    def __init__(self, base_url: str, timeout: float, pool_size: int = 16) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 2))
        assert self.session is not None  # noqa: S101 - TwilioHttpClient pools by default
        self.session.trust_env = needs_environment()
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # Workers send from several threads through one client: each keeps its own last answer.
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url and url.startswith(TWILIO_API_ORIGIN):
            url = self.base_url + url[len(TWILIO_API_ORIGIN) :]
        self._local.headers = {}
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = dict(response.headers or {})
        return response

    def last_headers(self) -> dict[str, str]:
        """The headers of this thread's last answer (for Retry-After on a 429)."""
        return dict(getattr(self._local, "headers", {}) or {})


def twilio_code_suppression(code: int | str) -> tuple[str, bool]:
    """What a Twilio error code means for the number, whether Twilio answered a send with it or
    reported it later (``ErrorCode`` of a status callback, ``hub.webhooks.twilio``): the
    ``SuppressionReason`` to write ("" for none), and whether the person opted out."""
    try:
        number = int(code)
    except (TypeError, ValueError):
        return "", False
    if number in OPTED_OUT_CODES:
        return "sms_opt_out", True
    if number in SUPPRESSING_CODES:
        return "invalid", False
    return "", False


def map_twilio_error(exc: TwilioRestException, headers: Mapping[str, str] | None = None) -> ProviderError:
    code = int(exc.code) if exc.code else 0
    text = f"Twilio {exc.status} {code or ''}: {exc.msg}".strip()
    suppression, opted_out = twilio_code_suppression(code)
    if suppression:
        return PermanentProviderError(
            text,
            code=str(code),
            http_status=exc.status,
            suppress=True,
            suppression_reason=suppression,
            withdraw_consent=opted_out,
        )
    if exc.status in (401, 403) or code == 20003:
        return ProviderConfigurationError(text, code=str(code or exc.status), http_status=exc.status)
    if code in RETRYABLE_CODES or exc.status == 429 or exc.status >= 500:
        return RetryableProviderError(
            text,
            code=str(code or exc.status),
            http_status=exc.status,
            retry_after=retry_after_seconds(headers or {}),
        )
    return PermanentProviderError(text, code=str(code or exc.status), http_status=exc.status)


# What ``quote_plus`` leaves as it is, and a space (which it writes as "+").
_FORM_UNSAFE = re.compile(r"[^A-Za-z0-9_.~ -]+")
_PERCENT = [f"%{byte:02X}" for byte in range(256)]
_FILE_TYPES = (bytes, bytearray, memoryview, io.IOBase)


def _percent_encoded(found: re.Match[str]) -> str:
    return "".join([_PERCENT[byte] for byte in found.group().encode()])


def form_quote(text: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    """``urllib.parse.quote_plus`` of ``text`` (UTF-8, nothing safe but the always-safe
    characters), with one call per run of characters to escape instead of one per byte: a
    message body or a callback URL cost ~150 Python calls a send that way."""
    if type(text) is not str or safe or encoding not in (None, "utf-8") or errors is not None:
        return quote_plus(text, safe, encoding, errors)
    return _FORM_UNSAFE.sub(_percent_encoded, text).replace(" ", "+")


def form_encoded(data: Mapping[str, object]) -> aiohttp.BytesPayload | Mapping[str, object]:
    """A request's form body as aiohttp's ``FormData`` makes it of a mapping of plain fields
    (``urlencode(data, doseq=True)``, ``application/x-www-form-urlencoded``), without its
    per-field objects and its payload registry's lookups. A mapping with a file or bytes (which
    aiohttp sends as multipart) is left to aiohttp."""
    if any(isinstance(value, _FILE_TYPES) for value in data.values()):
        return data
    return aiohttp.BytesPayload(
        urlencode(cast(Any, data), doseq=True, quote_via=cast(Any, form_quote)).encode(),
        content_type="application/x-www-form-urlencoded",
    )


# The headers of the answer to the current asyncio task's last call (for Retry-After).
_async_headers: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("twilio_async_headers")


class _AsyncBaseUrlHttpClient(AsyncHttpClient):
    """The asynchronous twin of ``_BaseUrlHttpClient``, on an aiohttp session that lives as
    long as one batch (create and close it inside the batch's event loop)."""

    def __init__(self, base_url: str, timeout: float, pool_size: int) -> None:
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=True, timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(pool_size, 2)),
            timeout=aiohttp.ClientTimeout(total=timeout),
            trust_env=needs_environment(),
            headers={"User-Agent": "switchboard-hub"},
        )

    async def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.base_url and url.startswith(TWILIO_API_ORIGIN):
            url = self.base_url + url[len(TWILIO_API_ORIGIN) :]
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = aiohttp.encode_basic_auth(auth[0], auth[1])
        _async_headers.set({})
        async with self.session.request(
            method.upper(),
            url,
            params=cast(Any, params) or None,
            data=form_encoded(data) if data else None,
            headers=sent,
            allow_redirects=allow_redirects,
            # Not None: to aiohttp that means no timeout at all, not the session's.
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
        ) as answer:
            text = await answer.text()
            _async_headers.set(dict(answer.headers))
            return Response(answer.status, text, answer.headers)

    async def close(self) -> None:
        await self.session.close()


@dataclass(frozen=True)
class _AsyncLane:
    """An event loop that lives as long as its thread, with the session and SDK client bound
    to it. Closed when the process exits."""

    pid: int
    runner: asyncio.Runner
    http: _AsyncBaseUrlHttpClient
    client: Client

    @classmethod
    def open(cls, base_url: str, timeout: float, pool_size: int, credentials: tuple[str, str]) -> _AsyncLane:
        runner = asyncio.Runner()

        async def session() -> _AsyncBaseUrlHttpClient:  # aiohttp binds it to the running loop
            return _AsyncBaseUrlHttpClient(base_url, timeout, pool_size)

        http = runner.run(session())
        lane = cls(os.getpid(), runner, http, Client(*credentials, http_client=http))
        atexit.register(lane.close)
        return lane

    def close(self) -> None:
        if self.pid != os.getpid():
            return  # a forked child's copy: the parent closes its own
        with contextlib.suppress(Exception):
            self.runner.run(self.http.close())
            self.runner.close()


class TwilioSmsProvider(Provider):
    channel = "sms"
    default_concurrency = 16
    vendor = "Twilio"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.from_number: str = self.options.get("from_number", "")
        self.messaging_service_sid: str = self.options.get("messaging_service_sid", "")
        if not (self.from_number or self.messaging_service_sid):
            raise ProviderConfigurationError(
                "Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID."
            )
        self._lanes = threading.local()  # each thread's event loop for batches (send_many)
        self.http_client = _BaseUrlHttpClient(
            self.options.get("api_base_url", ""), self.timeout, pool_size=self.concurrency
        )
        self.client = Client(
            self.options["account_sid"], self.options["auth_token"], http_client=self.http_client
        )

    def rate_limit_key(self, message: OutboundMessage) -> str:
        """Twilio's throughput limit is per sender: the number or the messaging service."""
        chosen = message.metadata.get("sms_sender", "")
        return f"{self.name}:{chosen or self.messaging_service_sid or self.from_number}"

    def _params(self, message: OutboundMessage) -> dict[str, Any]:
        params: dict[str, Any] = {"to": message.to, "body": message.content.get("text", "")}
        if chosen := message.metadata.get("sms_sender", ""):
            params["from_"] = chosen  # the sender the caller named (Notify's sms_sender_id)
        elif self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        if message.status_callback_url:
            params["status_callback"] = message.status_callback_url
        return params

    def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult | ProviderError]:
        """The batch on this thread's event loop through the SDK's asynchronous API,
        ``concurrency`` calls at a time; each result or error is what ``send`` gives for it."""
        if len(messages) <= 1:
            return super().send_many(messages)
        lane = self._async_lane()
        return lane.runner.run(self._send_all(lane.client, messages))

    def _async_lane(self) -> _AsyncLane:
        """This thread's loop, aiohttp session and SDK client, kept across batches so that
        connections (and their TLS sessions) are reused; made anew in a forked child."""
        lane: _AsyncLane | None = getattr(self._lanes, "lane", None)
        if lane is None or lane.pid != os.getpid():
            lane = _AsyncLane.open(
                self.options.get("api_base_url", ""),
                self.timeout,
                self.concurrency,
                (self.options["account_sid"], self.options["auth_token"]),
            )
            self._lanes.lane = lane
        return lane

    async def _send_all(
        self, client: Client, messages: Sequence[OutboundMessage]
    ) -> list[SendResult | ProviderError]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(message: OutboundMessage) -> SendResult | ProviderError:
            async with limit:
                return await self._send_one_async(client, message)

        return list(await asyncio.gather(*(one(m) for m in messages)))

    async def _send_one_async(self, client: Client, message: OutboundMessage) -> SendResult | ProviderError:
        started = time.perf_counter()
        try:
            try:
                created = await client.messages.create_async(**self._params(message))
            except TwilioRestException as exc:
                raise map_twilio_error(exc, _async_headers.get({})) from exc
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                raise self.transport_error(exc) from exc
        except ProviderError as exc:
            self.log_failure(message, exc, started)
            return exc
        except Exception as exc:  # noqa: BLE001 - a bug must not lose the batch (see _send_one)
            return self.unexpected(message, exc)
        return SendResult(provider_message_id=str(created.sid))

    def message_price(self, provider_message_id: str) -> tuple[str | None, str]:
        """Twilio's price of a sent message from its Message resource (``price``, negative,
        in ``price_unit``), None while Twilio has not billed it yet. The status callback
        carries no price: ``hub.tracking.prices`` asks after the final status."""
        try:
            fetched = self.client.messages(provider_message_id).fetch()
        except TwilioRestException as exc:
            raise map_twilio_error(exc, self.http_client.last_headers()) from exc
        except requests.RequestException as exc:
            raise RetryableProviderError(f"Twilio unreachable: {type(exc).__name__}", code="network") from exc
        price = fetched.price
        return (str(price) if price not in (None, "") else None), str(fetched.price_unit or "")

    def _send(self, message: OutboundMessage) -> SendResult:
        params = self._params(message)
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise map_twilio_error(exc, self.http_client.last_headers()) from exc
        except requests.Timeout as exc:
            raise RetryableProviderError("Twilio did not answer in time", code="timeout") from exc
        except requests.RequestException as exc:
            raise RetryableProviderError(f"Twilio unreachable: {type(exc).__name__}", code="network") from exc
        return SendResult(provider_message_id=str(created.sid))
