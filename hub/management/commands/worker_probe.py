"""``python manage.py worker_probe``: exit non-zero if a worker has stopped consuming (SPEC §7).

What a supervisor runs to decide a worker must be restarted: a systemd timer or
``ExecStartPost``, or a Kubernetes ``livenessProbe`` ``exec`` (with ``--worker``, so a pod is
judged on its own worker only). Reads the heartbeats of ``hub.workers.liveness``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.workers.liveness import heartbeats, workers_quiet_for, workers_stale


class Command(BaseCommand):
    help = "Exit non-zero if any worker has not consumed from its queues within the liveness window."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--worker", help="judge only this worker (its Celery node name, e.g. celery@$HOSTNAME)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker: str | None = options["worker"]
        window = settings.HUB_WORKER_LIVENESS_SECONDS
        beats = heartbeats(worker=worker)
        if not beats:
            who = f"worker {worker} has not consumed" if worker else "no worker has consumed"
            raise CommandError(f"{who} from any queue yet (is it, and beat, running?)", returncode=1)
        stale = workers_stale(beats)
        if stale:
            named = ", ".join(f"{w} {quiet:.0f} s" for w, quiet in sorted(stale.items()))
            raise CommandError(
                f"stale: {named} since the last task from any queue (window {window:.0f} s)", returncode=1
            )
        count = len(workers_quiet_for(beats))
        self.stdout.write(f"ok: {count} worker(s) consumed within the last {window:.0f} s")
