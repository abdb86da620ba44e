"""``runhub`` keeps the hub up when a worker or beat dies: the process is started again with
backoff and the operator is told; only the web server's death stops everything (issue 14,
point 10: the worker died on the embedded broker and runhub stopped web, worker and beat)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from hub.workers.supervise import Program, Supervisor
from tests.worker import wait_for


def _supervisor(programs: list[Program], said: list[str], tmp_path: Path) -> Supervisor:
    return Supervisor(
        programs, env=os.environ, cwd=tmp_path, say=said.append, backoff_first=0.2, backoff_max=0.8
    )


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_killed_worker_is_started_again_and_the_hub_goes_on(tmp_path):
    said: list[str] = []
    worker = Program("worker", _python("import time; time.sleep(60)"), restart=True)
    web = Program("web", _python("import time; time.sleep(60)"), restart=False)
    supervisor = _supervisor([web, worker], said, tmp_path)
    supervisor.start()
    try:
        assert worker.proc is not None and web.proc is not None
        first, web_pid = worker.proc.pid, web.proc.pid
        os.kill(first, signal.SIGKILL)

        def restarted() -> bool:
            assert supervisor.poll() is None  # nothing stops the hub
            return worker.proc is not None and worker.proc.pid != first and worker.proc.poll() is None

        wait_for(restarted, timeout=10, what="the worker to be started again")
        assert web.proc.pid == web_pid and web.proc.poll() is None
        assert (
            said[0]
            == "The worker process stopped (exit -9); starting it again in 0.2 s (restart 1 in a row)."
        )
        assert said[1] == "The worker process was started again."
    finally:
        supervisor.stop()
    assert worker.proc.poll() is not None and web.proc.poll() is not None


def test_a_worker_that_keeps_dying_is_restarted_ever_more_slowly(tmp_path):
    said: list[str] = []
    starts = tmp_path / "starts"
    crashing = Program(
        "worker", _python(f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"), restart=True
    )
    supervisor = _supervisor([crashing], said, tmp_path)
    supervisor.start()
    deadline = time.monotonic() + 4
    try:
        while time.monotonic() < deadline:
            assert supervisor.poll() is None
            time.sleep(0.05)
    finally:
        supervisor.stop()
    delays = [line.split(" in ")[1].split(" s ")[0] for line in said if "starting it again" in line]
    assert delays[:4] == ["0.2", "0.4", "0.8", "0.8"]  # doubling, capped
    assert 4 <= len(starts.read_text()) <= 8


def test_the_web_server_stopping_stops_the_hub(tmp_path):
    said: list[str] = []
    web = Program("web", _python("raise SystemExit(1)"), restart=False)
    beat = Program("beat", _python("import time; time.sleep(60)"), restart=True)
    supervisor = _supervisor([web, beat], said, tmp_path)
    supervisor.start()
    try:
        reason = wait_for(supervisor.poll, timeout=10, what="the hub to stop")
    finally:
        supervisor.stop()
    assert reason == "The web process stopped (exit 1); stopping the rest."
    assert beat.proc is not None and beat.proc.poll() is not None


def test_with_a_log_dir_the_output_goes_to_one_file_per_program_not_the_terminal(tmp_path, capfd):
    """Issue 20 point 9: the workers' and beat's logs must not scroll the banner away."""
    said: list[str] = []
    worker = Program("worker", _python("print('consumer ready', flush=True)"), restart=False)
    supervisor = Supervisor([worker], env=os.environ, cwd=tmp_path, say=said.append, log_dir=tmp_path / "log")
    supervisor.start()
    assert worker.proc is not None
    worker.proc.wait(timeout=10)
    supervisor.stop()
    assert supervisor.log_path(worker) == tmp_path / "log" / "worker.log"
    assert (tmp_path / "log" / "worker.log").read_text() == "consumer ready\n"
    assert "consumer ready" not in capfd.readouterr().out
