"""POST one status callback to the address that was checked, within a wall-clock deadline.

The connection goes to ``CallbackTarget.address`` (never resolved again, so DNS rebinding finds
nothing to rebind), while the request names the URL's host: in the Host header, as the TLS
server name (SNI), and as the name the certificate must be valid for.

Socket timeouts alone do not bound an exchange: a peer that sends a byte every few seconds
resets them forever (one held a worker 75 s). A watchdog shuts the socket down when the
deadline passes, which ends whatever read or write is blocked on it.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
from collections.abc import Mapping
from contextlib import suppress

import certifi
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError

from hub.callbacks.safety import CallbackTarget


class CallbackTransportError(Exception):
    """The POST got no answer: refused, reset, TLS failure or past its deadline."""


def _connection(target: CallbackTarget, *, timeout: float) -> HTTPConnection:
    if target.scheme == "https":
        return HTTPSConnection(
            host=str(target.address),
            port=target.port,
            timeout=timeout,
            server_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            # requests' trust store, as before: certifi, or the bundle REQUESTS_CA_BUNDLE names.
            ca_certs=os.environ.get("REQUESTS_CA_BUNDLE") or certifi.where(),
        )
    return HTTPConnection(host=str(target.address), port=target.port, timeout=timeout)


def callback_post(
    *, target: CallbackTarget, body: bytes, headers: Mapping[str, str], deadline_seconds: float
) -> int:
    """POST ``body`` to ``target``; the answer's status code. Redirects are not followed.

    Raises CallbackTransportError when there is no complete answer within ``deadline_seconds``
    of starting (connecting, TLS, sending, and reading the status line and headers).
    """
    connection = _connection(target, timeout=deadline_seconds)
    expired = threading.Event()

    def cut() -> None:
        expired.set()  # before reading .sock: see the check after connect()
        if connection.sock is not None:
            with suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(deadline_seconds, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        if expired.is_set():  # the deadline passed while connecting, before there was a socket
            raise CallbackTransportError(f"no answer within the {deadline_seconds:g} s deadline")
        connection.request("POST", target.path, body=body, headers={**headers, "Host": target.host_header})
        status = connection.getresponse().status
    except (OSError, HTTPError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise CallbackTransportError(f"no answer within the {deadline_seconds:g} s deadline") from exc
        raise CallbackTransportError(type(exc).__name__) from exc
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set():
        raise CallbackTransportError(f"no answer within the {deadline_seconds:g} s deadline")
    return int(status)
