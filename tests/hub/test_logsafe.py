"""Logged tracebacks keep exception types and stacks but never exception messages."""

from __future__ import annotations

import logging

from hub.logsafe import WITHHELD, SafeFormatter


def record_with(exc: BaseException, msg: str = "boom", args: object = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__)
    return logging.LogRecord("hub.test", logging.ERROR, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


def test_a_chained_traceback_shows_types_and_frames_without_messages():
    address, number = "ada@example.org", "+447911123456"  # the stack shows source lines: not these
    try:
        try:
            raise KeyError(address)
        except KeyError as exc:
            raise ValueError(f"refused {number}") from exc
    except ValueError as exc:
        text = SafeFormatter("%(message)s").format(record_with(exc))
    assert "ada@example.org" not in text
    assert "447911123456" not in text
    assert f"KeyError: {WITHHELD}" in text
    assert f"ValueError: {WITHHELD}" in text
    assert "test_a_chained_traceback_shows_types_and_frames_without_messages" in text


def test_celery_failure_line_names_the_exception_type_only():
    record = record_with(
        RuntimeError("bounce for ada@example.org"),
        "Task %(name)s[%(id)s] raised unexpected: %(exc)s",
        {
            "name": "hub.messaging.tasks.apply_provider_reports",
            "id": "1",
            "exc": "RuntimeError('ada@example.org')",
        },
    )
    text = SafeFormatter("%(message)s").format(record)
    assert (
        text.splitlines()[0]
        == "Task hub.messaging.tasks.apply_provider_reports[1] raised unexpected: RuntimeError"
    )
    assert "ada@example.org" not in text
