"""``python manage.py runhub``: the whole hub on one machine (web, worker, beat) for development.

Migrates, seeds the demo data, starts the three processes, prints where to log in and a
working curl, starts a worker or beat that dies again (with backoff), and stops all of them
cleanly on Ctrl-C. The processes log to files under ``var/log/`` (``--verbose``: to the
terminal), so the banner stays on screen; Enter prints it again, and so does
``python manage.py runhub --banner`` from another terminal.
"""

from __future__ import annotations

import os
import select
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
        parser.add_argument(
            "--verbose", action="store_true", help="the processes' logs on the terminal, not in var/log/"
        )
        parser.add_argument(
            "--banner", action="store_true", help="print the running hub's banner again, and exit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["banner"]:
            if not self.banner_path.exists():
                raise CommandError("No hub has been started here yet: run ./scripts/up.")
            self.stdout.write(self.banner_path.read_text())
            return
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
        log_dir = None if options["verbose"] else settings.VAR_DIR / "log"
        supervisor = Supervisor(
            programs, env=env, cwd=settings.BASE_DIR, say=self.stderr.write, log_dir=log_dir
        )
        supervisor.start()

        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self._wait_for_web(addr)
        logs = [str(p) for p in (supervisor.log_path(program) for program in programs) if p]
        banner = self._banner(addr, seed.api_key if seed else None, logs)
        self.banner_path.write_text(banner)
        self.stdout.write(banner)
        interactive = sys.stdin.isatty()
        try:
            while not stopping:
                if reason := supervisor.poll():
                    self.stderr.write(reason)
                    break
                if interactive and select.select([sys.stdin], [], [], 0.5)[0]:
                    sys.stdin.readline()  # Enter: the banner again
                    self.stdout.write(banner)
                elif not interactive:
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

    @property
    def banner_path(self) -> Any:
        return settings.VAR_DIR / "banner.txt"

    def _banner(self, addr: str, api_key: str | None, logs: list[str]) -> str:
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
        if logs:
            lines += ["", " Logs:      " + "\n            ".join(logs)]
        lines += [
            "",
            " Enter prints this again (or: python manage.py runhub --banner). Ctrl-C stops everything.",
            "=" * 72,
            "",
        ]
        return "\n".join(lines)
