"""Issue 9, item 15: the log output of the whole test run holds no personal data.

A pytest plugin. It captures every log record of this process at DEBUG (a handler on the root
logger, every logger opened up to propagate to it) and tells every subprocess the tests start
to log at DEBUG too (``LOG_LEVEL``, which the settings and the worker's ``-l`` follow). Worker
processes write their output to ``*.log`` files under the test's ``tmp_path`` or the var
directory; tests that run a command with captured output hand it to ``record_output``. At the
end of the session all of it is scanned for phone numbers, email addresses and the message
bodies the run produced (every ``RenderedContent`` built in this process and every payload the
fake providers received). Any hit fails the session and is listed by file, line and kind,
with the value itself masked.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from tests.fakes.server import FakeServer

# The least length of a body searched for verbatim: shorter ones match by chance.
MIN_BODY = 12
# Regions whose national formats the phone matcher tries (the test data's countries).
PHONE_REGIONS = ("US", "GB", "DE", "FR")

E164 = re.compile(r"(?<![\w+])\+\d{8,15}(?!\d)")
EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
WORD_START = re.compile(r"(?<![0-9A-Za-z])[^\s]")


@dataclass(frozen=True)
class Hit:
    file: str
    line: int
    kind: str


def _anchor(body: str) -> str:
    return body[:MIN_BODY]


class Bodies:
    """Message bodies, subjects and other rendered texts seen during the run."""

    def __init__(self) -> None:
        self.by_anchor: dict[str, set[str]] = {}

    def add(self, text: str) -> None:
        text = text.strip()
        if len(text) < MIN_BODY:
            return
        for part in (text, *text.splitlines()):
            # A multi-line body is also searched line by line: logs are scanned per line.
            part = part.strip()
            if len(part) >= MIN_BODY and not part[0].isspace():
                self.by_anchor.setdefault(_anchor(part), set()).add(part)

    def add_payload(self, raw: bytes) -> None:
        """Every string value of a JSON or form-encoded request body a fake provider received."""
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return
        try:
            values: Iterable[str] = _strings(json.loads(text))
        except ValueError:
            values = (v for _, v in urllib.parse.parse_qsl(text))
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_anchor.values())

    def find(self, line: str) -> bool:
        if not self.by_anchor:
            return False
        for match in WORD_START.finditer(line):
            start = match.start()
            candidates = self.by_anchor.get(line[start : start + MIN_BODY])
            if candidates and any(line.startswith(body, start) for body in candidates):
                return True
        return False


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _line_of(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset)


def text_hits(text: str, bodies: Bodies | None = None) -> list[tuple[int, str]]:
    """(line number, kind) of each piece of personal data in ``text``: phone, email or body."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    found: set[tuple[int, str]] = set()
    for match in E164.finditer(text):
        found.add((_line_of(starts, match.start()), "phone"))
    for region in PHONE_REGIONS:
        for number in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            found.add((_line_of(starts, number.start), "phone"))
    for match in EMAIL.finditer(text):
        found.add((_line_of(starts, match.start()), "email"))
    if bodies is not None and bodies.by_anchor:
        for number, line in enumerate(text.splitlines(), start=1):
            if bodies.find(line):
                found.add((number, "body"))
    return sorted(found)


def scan_file(path: Path, bodies: Bodies | None = None) -> list[Hit]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [Hit(str(path), line, kind) for line, kind in text_hits(text, bodies)]


# --- The plugin ------------------------------------------------------------------------------

BODIES = Bodies()
_state: dict[str, Any] = {}


def log_dir() -> Path:
    """Where this session's own log files go (created on first use)."""
    if "dir" not in _state:
        _state["dir"] = Path(tempfile.mkdtemp(prefix="switchboard-logscan-"))
    path: Path = _state["dir"]
    return path


def run_recorded(
    argv: list[str], *, env: Mapping[str, str], cwd: Path | str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` with the output captured for the test and kept for the scan at the end."""
    result = subprocess.run(  # noqa: S603 - the tests' own argv
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    _state["outputs"] = _state.get("outputs", 0) + 1
    name = re.sub(r"[^\w.-]+", "_", f"{_state['outputs']:04d}-{Path(argv[-1]).name}")[:80]
    (log_dir() / f"output-{name}.log").write_text(f"{result.stdout}\n{result.stderr}\n", encoding="utf-8")
    return result


def _record_rendered() -> None:
    """Every RenderedContent built in this process adds its texts to BODIES."""
    from templates_app.rendering.core import RenderedContent

    original = RenderedContent.__init__
    names = [f.name for f in fields(RenderedContent)]

    def recording_init(self: RenderedContent, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for name in names:
            BODIES.add(getattr(self, name))

    setattr(RenderedContent, "__init__", recording_init)  # noqa: B010 - a dataclass's own __init__


def _open_up_loggers(handler: logging.Handler) -> None:
    """Loggers that do not propagate get the capture handler themselves."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate and handler not in logger.handlers:
            logger.addHandler(handler)


def pytest_configure(config: pytest.Config) -> None:
    if config.option.collectonly:
        return
    _state["started"] = time.time()
    # Subprocesses (workers, commands) log at DEBUG too: the settings' root level and the
    # worker's -l follow LOG_LEVEL.
    os.environ["LOG_LEVEL"] = "DEBUG"
    handler = logging.FileHandler(log_dir() / "pytest.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    # The console keeps the level it had; only the capture file gets everything.
    for existing in root.handlers:
        if existing.level == logging.NOTSET:
            existing.setLevel(root.level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    _state["handler"] = handler
    _open_up_loggers(handler)
    _record_rendered()
    FakeServer.observers.append(BODIES.add_payload)


def pytest_runtest_setup(item: pytest.Item) -> None:
    handler = _state.get("handler")
    if isinstance(handler, logging.FileHandler):
        _open_up_loggers(handler)
        if handler.stream is not None:
            handler.stream.write(f"=== {item.nodeid}\n")


def _files_to_scan(config: pytest.Config) -> list[Path]:
    from django.conf import settings

    started = _state["started"] - 1
    roots = [log_dir(), Path(settings.VAR_DIR), config._tmp_path_factory.getbasetemp()]  # type: ignore[attr-defined]
    found = {
        p for root in roots if root.exists() for p in root.rglob("*.log") if p.stat().st_mtime >= started
    }
    return sorted(found)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    handler = _state.get("handler")
    if not isinstance(handler, logging.FileHandler):
        return
    handler.flush()
    files = _files_to_scan(session.config)
    hits = [hit for path in files for hit in scan_file(path, BODIES)]
    _state["report"] = (files, hits)
    if hits and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "report" not in _state:
        return
    files, hits = _state["report"]
    size = sum(p.stat().st_size for p in files)
    terminalreporter.section("personal data in logs")
    terminalreporter.write_line(
        f"scanned {len(files)} log file(s), {size / 1e6:.1f} MB, for phone numbers, email addresses "
        f"and {len(BODIES)} message bodies: {len(hits)} hit(s)"
    )
    for hit in hits[:200]:
        terminalreporter.write_line(f"  {hit.file}:{hit.line}: {hit.kind}")
    if len(hits) > 200:
        terminalreporter.write_line(f"  ... and {len(hits) - 200} more")
