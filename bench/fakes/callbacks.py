"""A fake status-callback receiver: records each POST; answers 200 unless told otherwise."""

from __future__ import annotations

from typing import Any

from bench.fakes.server import Call, FakeHandler, FakeServer


class ReceiverHandler(FakeHandler):
    def answer(self, call: Call) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        return 200, {"ok": True}, {}


def start_fake_receiver() -> FakeServer:
    return FakeServer(ReceiverHandler).start()
