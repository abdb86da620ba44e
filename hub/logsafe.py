"""Log formatting that keeps personal data out of tracebacks.

An exception's text may quote what it was given: a provider SDK's error names the number it
refused, a database error the key that clashed. Logged tracebacks therefore show each
exception's type and stack (the source lines, never values), not its message; Celery's task
failure lines name the exception's type only.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import Any

WITHHELD = "(message withheld: it may hold personal data)"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def exception_outline(exc: BaseException) -> str:
    """The stack and type of ``exc`` and of the exceptions it was raised from, without messages."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(item.__traceback__))
        + f"{_type_name(item)}: {WITHHELD}"
        for item in reversed(chain)
    ]
    return "\n\nThe above exception led to the following exception:\n\n".join(parts)


class SafeFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose tracebacks and Celery failure lines carry no messages."""

    def formatException(self, ei: _ExcInfo) -> str:
        if ei[1] is None:
            return super().formatException(ei)
        return exception_outline(ei[1])

    def format(self, record: logging.LogRecord) -> str:
        # Celery's "Task x[id] raised unexpected: %(exc)s" puts the exception's repr in the line.
        if isinstance(record.args, dict) and "exc" in record.args and record.exc_info:
            exc = record.exc_info[1]
            args: dict[str, Any] = dict(record.args)
            args["exc"] = _type_name(exc) if exc is not None else "?"
            record.args = args
        return super().format(record)
