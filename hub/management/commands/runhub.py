"""``python manage.py runhub``: the whole hub on one machine (web, worker, beat) for development.

Migrates, seeds the demo data, starts the three processes, prints where to log in and a
working curl, starts a worker or beat that dies again (with backoff), and stops all of them
cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.celery import ALL_QUEUES
from hub.demo import DEMO_PASSWORD, demo_seed
from hub.workers.supervise import Program, Supervisor


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and beat together, with demo data (development)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port for the web server")
        parser.add_argument("--no-seed", action="store_true", help="skip seed_demo")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("runhub is for development: set DEBUG=1, or deploy the processes separately.")
        addr: str = options["addr"]
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        seed = None if options["no_seed"] else demo_seed()

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "hub"]
        programs = [
            Program("web", [python, "manage.py", "runserver", addr, "--noreload"], restart=False),
            # Prefork, as in production: only its pool enforces the tasks' time limits.
            Program(
                "worker",
                [*celery, "worker", "-l", "INFO", "-Q", ",".join(ALL_QUEUES), "-P", "prefork", "-c", "2"],
                restart=True,
            ),
            Program(
                "beat",
                [*celery, "beat", "-l", "WARNING", "-s", str(settings.VAR_DIR / "celerybeat-schedule")],
                restart=True,
            ),
        ]
        supervisor = Supervisor(programs, env=env, cwd=settings.BASE_DIR, say=self.stderr.write)
        supervisor.start()

        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self._wait_for_web(addr)
        self._banner(addr, seed.api_key if seed else None)
        try:
            while not stopping:
                if reason := supervisor.poll():
                    self.stderr.write(reason)
                    break
                time.sleep(0.5)
        finally:
            self.stdout.write("\nStopping web, worker and beat...")
            supervisor.stop()
            self.stdout.write("Stopped.")

    def _wait_for_web(self, addr: str) -> None:
        """Print the banner only once the web server answers, so it is the last thing shown."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{addr}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.3)

    def _banner(self, addr: str, api_key: str | None) -> None:
        base = f"http://{addr}"
        lines = [
            "",
            "=" * 72,
            " Switchboard is running (SQLite, embedded broker, sandbox providers)",
            "=" * 72,
            f" Admin:     {base}/admin/",
            f" Logins:    admin, marketer, compliance, support, operator  (password: {DEMO_PASSWORD})",
            f" API docs:  {base}/api/docs/",
        ]
        if api_key:
            lines += [
                f" API key:   {api_key}",
                "",
                " Send a message:",
                f"   curl -s -X POST {base}/api/v1/notifications \\",
                f"     -H 'Authorization: Bearer {api_key}' \\",
                "     -H 'Content-Type: application/json' \\",
                '     -d \'{"template": "order.shipped", "to": {"external_id": "cust-1001"},'
                ' "channels": ["sms"], "data": {"first_name": "Ada", "order_number": "A-1042"}}\'',
                "",
                " Then follow it (use the id from the answer):",
                f"   curl -s {base}/api/v1/notifications/<id> -H 'Authorization: Bearer {api_key}'",
                f" The sandbox outbox: {base}/admin/providers/sandboxoutboxentry/",
            ]
        lines += ["", " Press Ctrl-C to stop everything.", "=" * 72, ""]
        self.stdout.write("\n".join(lines))
