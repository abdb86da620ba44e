"""A real HTTP server for the hub with a bounded pool of request threads (like gunicorn's
workers), so a burst of concurrent requests does not open one database connection each."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.core.handlers.wsgi import WSGIHandler
from django.db import connections


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class PooledWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256
    pool: ThreadPoolExecutor

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._handle, request, client_address)

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            connections.close_all()  # the test database can be dropped afterwards


@contextmanager
def live_hub(workers: int = 16) -> Iterator[str]:
    """Serve the hub on 127.0.0.1; yields its base URL."""
    server = make_server(
        "127.0.0.1", 0, WSGIHandler(), server_class=PooledWSGIServer, handler_class=_QuietHandler
    )
    server.pool = ThreadPoolExecutor(max_workers=workers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        server.pool.shutdown(wait=True)
