"""A small threaded HTTP/1.1 server (keep-alive, no Nagle delay) that counts every call and
can be told to answer with errors. Each fake provider subclasses ``FakeHandler``.

``GET /__calls`` answers how many calls (and units, e.g. email recipients) the server has
taken, so a process that runs it elsewhere (``python -m bench.fakes.serve``) can read it.
With ``keep_calls=False`` only the counts are kept, not every request (long benchmarks)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

COUNTS_PATH = "/__calls"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Injection:
    """Answer the next ``times`` matching calls (or every one, with ``times=None``) this way."""

    status: int
    body: dict[str, Any] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    delay: float = 0.0
    match: Callable[[Call], bool] | None = None
    # Close the connection without answering (the client sees a reset), instead of ``status``.
    reset: bool = False


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many workers and keep-alive clients connect at once
    # Called with the body of every request any fake receives (the log scan collects them).
    observers: ClassVar[list[Callable[[bytes], None]]] = []

    def __init__(self, handler: type[FakeHandler], *, port: int = 0, keep_calls: bool = True) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.calls: list[Call] = []
        self.keep_calls = keep_calls
        self.call_count = 0
        self.unit_count = 0
        self.injections: list[Injection] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) closes the socket under us: not an error.
        import sys

        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            super().handle_error(request, client_address)

    def inject(self, injection: Injection) -> None:
        with self.lock:
            self.injections.append(injection)

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.call_count = self.unit_count = 0
            self.injections.clear()

    def take_injection(self, call: Call) -> Injection | None:
        with self.lock:
            for injection in self.injections:
                if injection.match is None or injection.match(call):
                    if injection.times is not None:
                        injection.times -= 1
                        if injection.times <= 0:
                            self.injections.remove(injection)
                    return injection
        return None


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        call = Call(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
        )
        if call.method == "GET" and call.path == COUNTS_PATH:
            with self.server.lock:
                counts = {"calls": self.server.call_count, "units": self.server.unit_count}
            self.respond(200, counts)
            return
        units = self.units(call)
        with self.server.lock:
            self.server.call_count += 1
            self.server.unit_count += units
            if self.server.keep_calls:
                self.server.calls.append(call)
        for observe in FakeServer.observers:
            observe(call.body)
        injection = self.server.take_injection(call)
        if injection is not None:
            if injection.delay:
                time.sleep(injection.delay)
            if injection.reset:
                self.close_connection = True
                return
            self.respond(injection.status, injection.body, injection.headers)
            return
        status, body, headers = self.answer(call)
        self.respond(status, body, headers)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def units(self, call: Call) -> int:
        """How many things this call carries (a batch API overrides it)."""
        return 1

    def answer(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        raise NotImplementedError

    def respond(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
