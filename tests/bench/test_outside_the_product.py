"""The bench lives outside the product (issue 16, point 7): the wheel does not ship it, shipped
code never imports it (but for the ``bench`` command, when it runs) nor the tests, and a
production worker registers no bench task."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from hub.management.commands.bench import NOT_INSTALLED

ROOT = Path(settings.BASE_DIR)
SHIPPED = ("hub", "templates_app", "audit")
# The one place shipped code may name the bench: the command, importing it when it runs.
BENCH_COMMAND = Path("hub/management/commands/bench.py")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_shipped_code_imports_neither_the_tests_nor_the_bench():
    offending = []
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            found = _imported_roots(path) & {"tests", "bench"}
            if relative == BENCH_COMMAND:
                found -= {"bench"}
            offending += [f"{relative}: {name}" for name in sorted(found)]
    assert offending == []


def test_the_wheel_ships_the_hub_without_the_bench():
    """setuptools puts in the wheel the packages its ``include`` patterns match."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]

    def shipped(package: str) -> bool:
        return any(fnmatch(package, pattern) for pattern in config["include"])

    assert all(map(shipped, ("hub", "hub.messaging", "templates_app", "audit")))
    assert not any(map(shipped, ("bench", "bench.fakes", "tests", "tests.bench")))


def test_the_wheel_ships_every_template():
    """Each template under a shipped package matches a ``package-data`` glob (setuptools reads them
    per package, ``*`` for every package): an installed hub must not lack its admin pages."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools["package-data"]
    shipped: set[Path] = set()
    for top in SHIPPED:
        for init in (ROOT / top).rglob("__init__.py"):
            package = init.parent
            name = ".".join(package.relative_to(ROOT).parts)
            for pattern in patterns.get("*", []) + patterns.get(name, []):
                shipped.update(p for p in package.glob(pattern) if p.is_file())
    templates = {p for top in SHIPPED for p in (ROOT / top).rglob("*.html")}
    assert templates, "no templates found"
    assert templates - shipped == set()


def test_a_production_worker_registers_no_bench_task():
    """What ``celery -A hub worker`` loads (the app, its configured imports and every app's
    tasks), in a fresh process: no bench task, and the bench package never imported."""
    script = (
        "import json, sys; from hub.celery import app; app.loader.import_default_modules(); "
        "print(json.dumps({'tasks': sorted(app.tasks), "
        "'bench': sorted(m for m in sys.modules if 'bench' in m.split('.'))}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings"}
    answer = subprocess.run(  # noqa: S603 - our own argv
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, check=True, timeout=120
    )
    loaded = json.loads(answer.stdout.decode().strip().splitlines()[-1])
    assert "hub.messaging.tasks.send_messages" in loaded["tasks"]
    assert [t for t in loaded["tasks"] if "bench" in t.split(".")] == []
    assert loaded["bench"] == []


def test_the_bench_workers_app_registers_the_naive_baseline():
    from bench.worker import app

    assert app.main == "hub"
    app.loader.import_default_modules()  # as a worker does when it starts
    task = app.tasks["bench.naive.naive_send"]
    assert task.soft_time_limit is not None and task.time_limit is not None
    assert task.soft_time_limit < task.time_limit


def test_the_command_says_plainly_when_the_bench_is_not_installed(monkeypatch):
    # As in an installed wheel: no ``bench`` package to import.
    monkeypatch.setitem(sys.modules, "bench", None)
    with pytest.raises(CommandError, match="source checkout"):
        call_command("bench")
    assert "source checkout" in NOT_INSTALLED
