"""Run fake providers in their own process, so that a benchmark's provider does not share
the measuring process (or its GIL):

    python -m bench.fakes.serve twilio sendgrid

prints one JSON line, ``{"twilio": "http://127.0.0.1:PORT", ...}``, once every server
listens, then serves until stdin closes or the process is terminated. Each server counts
its calls (``GET /__calls``) and keeps no request bodies.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Mapping

from bench.fakes.sendgrid import SendGridHandler, sendgrid_env
from bench.fakes.server import FakeHandler, FakeServer
from bench.fakes.twilio import TwilioHandler, twilio_env

HANDLERS: dict[str, type[FakeHandler]] = {"twilio": TwilioHandler, "sendgrid": SendGridHandler}
ENVS: dict[str, Callable[[str], dict[str, str]]] = {"twilio": twilio_env, "sendgrid": sendgrid_env}


def served_env(urls: Mapping[str, str]) -> dict[str, str]:
    """The environment that points a process's providers at the fakes this module printed."""
    env: dict[str, str] = {}
    for name, url in urls.items():
        env.update(ENVS[name](url))
    return env


def _stop_when_stdin_closes(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("providers", nargs="+", choices=sorted(HANDLERS))
    args = parser.parse_args(argv)
    servers = {name: FakeServer(HANDLERS[name], keep_calls=False).start() for name in args.providers}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps({name: server.base_url for name, server in servers.items()}), flush=True)
    # The parent closing our stdin (or dying) ends us too.
    threading.Thread(target=_stop_when_stdin_closes, args=(stop,), daemon=True).start()
    stop.wait()
    for server in servers.values():
        server.stop()


if __name__ == "__main__":
    main()
