"""No two modules of a package import each other, directly or through others.

Every import counts, including those inside functions and under TYPE_CHECKING: a deferred
import only hides a cycle from the interpreter, not from a reader, who still cannot
understand either module without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def imported(path: Path, own: dict[str, Path]) -> set[str]:
    """The modules of `own` that `path` imports (`from a import b` counts `a.b` when that is a
    module, else `a`; relative imports are resolved against `path`'s package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, path)
            found |= {f"{base}.{a.name}" for a in node.names} | {base}
    return {_owner(name, own) for name in found if _owner(name, own)}


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _owner(name: str, own: dict[str, Path]) -> str:
    """`name` if it is a module of `own`, else its nearest parent module there ('' if none)."""
    while name and name not in own:
        name = name.rpartition(".")[0]
    return name


def graph(package: str) -> dict[str, set[str]]:
    own = modules(package)
    return {name: imported(path, own) - {name} for name, path in own.items()}


def tangles(edges: dict[str, set[str]]) -> Iterator[list[str]]:
    """Every strongly connected component of more than one module, sorted (Tarjan): each
    module of one reaches every other through imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> Iterator[list[str]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                yield from visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                yield sorted(component)

    for start in sorted(edges):
        if start not in index:
            yield from visit(start)


def one_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A concrete cycle inside a strongly connected component, for the failure message."""
    members = set(component)
    path = [component[0]]
    while True:
        nxt = sorted(edges[path[-1]] & members)[0]
        if nxt in path:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)


def test_tangles_are_found_with_every_module_in_them() -> None:
    edges = {"p.a": {"p.b", "p.e"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}, "p.e": {"p.a"}}
    assert list(tangles(edges)) == [["p.a", "p.b", "p.c", "p.e"]]
    assert one_cycle(["p.a", "p.b", "p.c", "p.e"], edges) == ["p.a", "p.b", "p.c", "p.a"]
    assert list(tangles({"p.a": {"p.b"}, "p.b": set()})) == []


def test_deferred_and_relative_imports_count(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from pkg.other import thing\n", encoding="utf-8")
    assert imported(source, {"pkg.other": source}) == {"pkg.other"}
    inner = ROOT / "harness" / "report" / "diff.py"  # resolved as harness.report.diff
    relative = ast.parse("from .ledger import Ledger\nfrom ..spec import fields\n").body
    assert [_absolute(n, inner) for n in relative if isinstance(n, ast.ImportFrom)] == [
        "harness.report.ledger",
        "harness.spec",
    ]


@pytest.mark.parametrize("package", ["harness", "fake_services"])
def test_no_import_cycle(package: str) -> None:
    edges = graph(package)
    found = [f"{', '.join(c)} (e.g. {' -> '.join(one_cycle(c, edges))})" for c in tangles(edges)]
    assert not found, f"modules importing each other in {package}/:\n  " + "\n  ".join(found)
