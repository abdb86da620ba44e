"""The house's import rules, read from the source (ast), so a change that breaks one fails here:

- ``templates_app`` and ``audit`` never import ``hub`` (``hub`` builds on them);
- ``hub.messaging`` never imports ``hub.workspace`` (the read side): rollups are written by the
  messaging side;
- no module imports another module's private name (``from x import _helper``): what two modules
  share is public, named for what it does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("hub", "templates_app", "audit")


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name, ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module) -> Iterator[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) for every import, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names], node.lineno


MODULES = list(_modules())


def test_the_modules_are_read() -> None:
    names = {name for name, _ in MODULES}
    assert {"hub.messaging.intake", "audit.services", "templates_app.models"} <= names


@pytest.mark.parametrize("package", ["templates_app", "audit"])
def test_lower_packages_never_import_hub(package: str) -> None:
    found = [
        f"{name}:{line} imports {imported}"
        for name, tree in MODULES
        if name.split(".")[0] == package
        for imported, _, line in _imports(tree)
        if imported == "hub" or imported.startswith("hub.")
    ]
    assert found == []


def test_messaging_never_imports_the_workspace() -> None:
    found = [
        f"{name}:{line} imports {imported}"
        for name, tree in MODULES
        if name.startswith("hub.messaging.")
        for imported, _, line in _imports(tree)
        if imported.startswith("hub.workspace")
    ]
    assert found == []


def test_no_module_imports_another_modules_private_name() -> None:
    found = [
        f"{name}:{line} imports {imported}.{each}"
        for name, tree in MODULES
        for imported, names, line in _imports(tree)
        if imported.split(".")[0] in SHIPPED and imported != name
        for each in names
        if each.startswith("_") and not each.startswith("__")
    ]
    assert found == []
