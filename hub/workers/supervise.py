"""Keeping ``runhub``'s processes running: a worker or beat that dies is started again, with
backoff, instead of taking the web server and the rest of the hub down with it."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Program:
    name: str
    command: list[str]
    # Started again when it dies; otherwise its death stops the hub (the web server: without it
    # there is nothing to use, and a port already taken will not free itself).
    restart: bool
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    restarts_in_a_row: int = 0
    restart_at: float | None = None


class Supervisor:
    """Starts programs, restarts the restartable ones when they die (after 1, 2, 4... seconds,
    up to ``backoff_max``; a run longer than ``stable_after`` resets the count) and says so."""

    def __init__(
        self,
        programs: list[Program],
        *,
        env: Mapping[str, str],
        cwd: Path,
        say: Callable[[str], None],
        backoff_first: float = 1.0,
        backoff_max: float = 60.0,
        stable_after: float = 60.0,
        log_dir: Path | None = None,
    ) -> None:
        self.programs = programs
        # Each program's output is appended to <log_dir>/<name>.log instead of the terminal.
        self.log_dir = log_dir
        self.env = dict(env)
        self.cwd = cwd
        self.say = say
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.stable_after = stable_after

    def start(self) -> None:
        for program in self.programs:
            self._launch(program)

    def log_path(self, program: Program) -> Path | None:
        return self.log_dir / f"{program.name}.log" if self.log_dir is not None else None

    def _launch(self, program: Program) -> None:
        path = self.log_path(program)
        if path is None:
            program.proc = subprocess.Popen(program.command, env=self.env, cwd=self.cwd)  # noqa: S603 - our argv
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as log:  # the child keeps its own copy of the descriptor
                program.proc = subprocess.Popen(  # noqa: S603 - our argv
                    program.command, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
                )
        program.started_at = time.monotonic()
        program.restart_at = None

    def poll(self) -> str | None:
        """Restart what died and is due; the reason to stop the hub, if one must."""
        now = time.monotonic()
        for program in self.programs:
            if program.restart_at is not None:
                if now >= program.restart_at:
                    self._launch(program)
                    self.say(f"The {program.name} process was started again.")
                continue
            code = program.proc.poll() if program.proc else None
            if code is None:
                continue
            if not program.restart:
                return f"The {program.name} process stopped (exit {code}); stopping the rest."
            if now - program.started_at >= self.stable_after:
                program.restarts_in_a_row = 0
            delay = min(self.backoff_first * 2**program.restarts_in_a_row, self.backoff_max)
            program.restarts_in_a_row += 1
            program.restart_at = now + delay
            self.say(
                f"The {program.name} process stopped (exit {code}); starting it again in {delay:g} s "
                f"(restart {program.restarts_in_a_row} in a row)."
            )
        return None

    def stop(self, timeout: float = 15.0) -> None:
        running = [p.proc for p in self.programs if p.proc is not None and p.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
