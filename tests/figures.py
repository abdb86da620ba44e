"""Figures the reliability tests measure (calls counted, messages flagged, refusals...), printed
in a section of their own at the end of the run, so every CI log carries them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_FIGURES: list[tuple[str, str, str]] = []

Record = Callable[[str, object], None]


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Record:
    """``figure("provider calls", 10003)``: keep a measured figure of this test for the summary."""

    def record(name: str, value: object) -> None:
        _FIGURES.append((request.node.nodeid, name, f"{value:,}" if isinstance(value, int) else str(value)))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("measured figures")
    for nodeid, name, value in _FIGURES:
        terminalreporter.write_line(f"{nodeid}: {name} = {value}")
