"""The harness reaches a system under test only over the network and files: no module of
harness/ imports fake_services (nor the other way round), so the same harness runs against a
real build. Every import counts, deferred or under TYPE_CHECKING (see test_import_cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports_of(source: str, package: str) -> list[str]:
    """The imports in `source` that name `package` or a module of it."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append(node.module)
    return [name for name in found if name == package or name.startswith(f"{package}.")]


@pytest.mark.parametrize(
    ("inside", "forbidden"), [("harness", "fake_services"), ("fake_services", "harness")]
)
def test_neither_side_imports_the_other(inside: str, forbidden: str) -> None:
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / inside).rglob("*.py"))
        for name in imports_of(path.read_text(encoding="utf-8"), forbidden)
    }
    assert not found, f"{inside}/ imports {forbidden}:\n  " + "\n  ".join(sorted(found))


def test_an_import_of_the_fakes_would_be_found() -> None:
    source = "import fake_services.env\ndef f():\n    from fake_services.platform import faults\n"
    assert imports_of(source, "fake_services") == ["fake_services.env", "fake_services.platform"]
    assert imports_of("import fake_servicesx\n", "fake_services") == []
