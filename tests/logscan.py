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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from bench.fakes.server import FakeServer

# The least length of a body searched for verbatim: shorter ones match by chance.
MIN_BODY = 12
# Regions whose national formats the phone matcher tries besides E.164 (the product takes only
# E.164; the test data writes UK numbers nationally too). Not DE: its open numbering plan makes
# any run of 8 digits in a log (ids, offsets) a valid number.
PHONE_REGIONS = ("US", "GB")

E164 = re.compile(r"(?<![\w+])\+\d{8,15}(?!\d)")
EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Keys under which the fakes' payloads carry message texts: Twilio's Body, SendGrid's subject
# and content values, FCM's and web push's notification title and body.
BODY_KEYS = frozenset({"body", "subject", "value", "title", "text", "html"})
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?")
DIGIT_RUN = re.compile(r"(?<![\w./:-])\(?\d[\d \t().\-/]{5,20}\d(?!\w)")
WORD_START = re.compile(r"(?<![0-9A-Za-z])[^\s]")


@dataclass(frozen=True)
class Hit:
    file: str
    line: int
    kind: str
    # What was found: printed only with LOGSCAN_SHOW=1, for a developer tracing a leak.
    value: str = field(default="", repr=False, compare=False)


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
        """The message texts in a JSON or form-encoded request body a fake provider received."""
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return
        try:
            values: Iterable[str] = _body_fields(json.loads(text))
        except ValueError:
            values = (v for k, v in urllib.parse.parse_qsl(text) if k.lower() in BODY_KEYS)
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_anchor.values())

    def find(self, line: str) -> str:
        """The first body that occurs in ``line``, or an empty string."""
        for match in WORD_START.finditer(line):
            start = match.start()
            for body in self.by_anchor.get(line[start : start + MIN_BODY], ()):
                if line.startswith(body, start):
                    return body
        return ""


def _body_fields(value: Any) -> Iterator[str]:
    """String values under a message-text key anywhere in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key.lower() in BODY_KEYS:
                yield item
            else:
                yield from _body_fields(item)
    elif isinstance(value, list):
        for item in value:
            yield from _body_fields(item)


def _line_of(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset)


def _phone_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, number) for national or international numbers libphonenumber finds.

    The matcher is slow, so it reads only lines with a run of 7 or more digits that starts a
    token, once the log lines' timestamps are blanked out (they would be such runs)."""
    blanked = TIMESTAMP.sub(lambda m: " " * len(m.group()), text)
    for number, line in enumerate(blanked.split("\n"), start=1):
        if not any(sum(c.isdigit() for c in m.group()) >= 7 for m in DIGIT_RUN.finditer(line)):
            continue
        for region in PHONE_REGIONS:
            for phone in phonenumbers.PhoneNumberMatcher(line, region, leniency=phonenumbers.Leniency.VALID):
                yield number, phone.raw_string


def text_hits(text: str, bodies: Bodies | None = None) -> dict[tuple[int, str], str]:
    """Each piece of personal data in ``text``: (line number, kind) → the value found.

    Kinds: ``phone`` (E.164, or national in one of PHONE_REGIONS), ``email``, ``body``.
    """
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    found: dict[tuple[int, str], str] = {}
    for match in E164.finditer(text):
        found.setdefault((_line_of(starts, match.start()), "phone"), match.group())
    for number, phone in _phone_lines(text):
        found.setdefault((number, "phone"), phone)
    for match in EMAIL.finditer(text):
        found.setdefault((_line_of(starts, match.start()), "email"), match.group())
    if bodies is not None and bodies.by_anchor:
        for number, line in enumerate(text.split("\n"), start=1):
            body = bodies.find(line)
            if body:
                found[(number, "body")] = body
    return dict(sorted(found.items()))


def scan_file(path: Path, bodies: Bodies | None = None) -> list[Hit]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [Hit(str(path), line, kind, value) for (line, kind), value in text_hits(text, bodies).items()]


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
    """Every RenderedContent built in this process, and the rendered content of every Message
    instance (made by a factory, or loaded after a worker process rendered it), add their
    texts to BODIES."""
    from django.db.models.signals import post_init

    from hub.messaging.models import Message
    from templates_app.rendering.core import RenderedContent

    def message_seen(sender: type[Message], instance: Message, **kwargs: Any) -> None:
        rendered = instance.__dict__.get("rendered")  # not loaded when deferred
        if isinstance(rendered, dict):
            for value in rendered.values():
                if isinstance(value, str):
                    BODIES.add(value)

    post_init.connect(message_seen, sender=Message, weak=False)

    original = RenderedContent.__init__
    names = [f.name for f in fields(RenderedContent)]

    def recording_init(self: RenderedContent, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for name in names:
            BODIES.add(getattr(self, name))

    setattr(RenderedContent, "__init__", recording_init)  # noqa: B010 - a dataclass's own __init__


# Loggers of the tests' own tools, not the hub's, kept above DEBUG. The only one: Selenium's
# client logs every answer of the browser at DEBUG, which is the text of the page the test
# reads (rendered previews), not anything the hub logged.
TEST_TOOL_LEVELS = {"selenium": logging.INFO}


def _attach(handler: logging.Handler) -> None:
    """Put the capture handler on the root logger at DEBUG, and on every logger that does not
    propagate. Done again before each test: ``django.setup()`` (importing ``hub.wsgi`` calls
    it) reconfigures logging, which drops the handler and resets the root level."""
    root = logging.getLogger()
    if handler not in root.handlers:
        # The console keeps the level it had; only the capture file gets everything.
        for existing in root.handlers:
            if existing.level == logging.NOTSET:
                existing.setLevel(root.level)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name, level in TEST_TOOL_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate and handler not in logger.handlers:
            logger.addHandler(handler)


@pytest.hookimpl(trylast=True)  # after pytest-django has set Django (and so logging) up
def pytest_configure(config: pytest.Config) -> None:
    if config.option.collectonly:
        return
    _state["started"] = time.time()
    # Subprocesses (workers, commands) log at DEBUG too: the settings' root level and the
    # worker's -l follow LOG_LEVEL.
    os.environ["LOG_LEVEL"] = "DEBUG"
    # A closed FileHandler (logging reconfigured) opens its file again, appending.
    handler = logging.FileHandler(log_dir() / "pytest.log", encoding="utf-8")
    # Formatted as the product's console handler formats (its traceback redaction included).
    formatters = [h.formatter for h in logging.getLogger().handlers if h.formatter is not None]
    handler.setFormatter(formatters[0] if formatters else logging.Formatter())
    handler.setLevel(logging.DEBUG)
    _state["handler"] = handler
    _attach(handler)
    _record_rendered()
    FakeServer.observers.append(BODIES.add_payload)


def pytest_runtest_setup(item: pytest.Item) -> None:
    handler = _state.get("handler")
    if isinstance(handler, logging.Handler):
        _attach(handler)
        # Without the parameters: a test's ids may quote its data (an address).
        marker = {
            "name": "tests.logscan",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": f"=== {item.nodeid.split('[')[0]}",
        }
        handler.handle(logging.makeLogRecord(marker))


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
        shown = f" {hit.value!r}" if os.environ.get("LOGSCAN_SHOW") == "1" else ""
        terminalreporter.write_line(f"  {hit.file}:{hit.line}: {hit.kind}{shown}")
    if len(hits) > 200:
        terminalreporter.write_line(f"  ... and {len(hits) - 200} more")
