"""Locating the external binaries the harness runs.

Every lookup happens at call time, never at import time, so `WRKH_TOOLS_DIR` set by a test
or a CI step after import is honoured. A missing binary raises `ToolMissingError` saying how
to get it; `require` reports every missing binary of a set at once.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ToolMissingError

TOOLS_DIR_ENV = "WRKH_TOOLS_DIR"
# Debian keeps the server binaries of PostgreSQL out of PATH, one folder per major version.
POSTGRES_LIB = Path("/usr/lib/postgresql")

_APT = "install it: apt-get install --no-install-recommends {package}"
_SETUP = "run `make setup` (builds it into {tools_dir}/bin)"


def repo_root() -> Path:
    """The repository holding the `harness` package (harness/stack/tools.py → parents[2])."""
    return Path(__file__).resolve().parents[2]


def tools_dir() -> Path:
    """The project-local tools folder: `$WRKH_TOOLS_DIR`, else `<repo>/tools`."""
    override = os.environ.get(TOOLS_DIR_ENV)
    return Path(override) if override else repo_root() / "tools"


@dataclass(frozen=True)
class _Tool:
    """How to find one binary and what to tell the user when it is missing."""

    search: Callable[[str], str | None]
    how_to_get: str


def _on_path(name: str) -> str | None:
    return shutil.which(name)


def _in_tools_dir(name: str) -> str | None:
    candidate = tools_dir() / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def _postgres_server(name: str) -> str | None:
    """Newest Debian PostgreSQL version first, then PATH (other distributions)."""
    versions: list[tuple[int, Path]] = []
    if POSTGRES_LIB.is_dir():
        for entry in POSTGRES_LIB.iterdir():
            if re.fullmatch(r"\d+", entry.name):
                versions.append((int(entry.name), entry))
    for _, folder in sorted(versions, reverse=True):
        candidate = folder / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _python(_: str) -> str | None:
    return sys.executable or None


_TOOLS: dict[str, _Tool] = {
    "prometheus": _Tool(_on_path, _APT.format(package="prometheus")),
    "promtool": _Tool(_on_path, _APT.format(package="prometheus")),
    "prometheus-alertmanager": _Tool(_on_path, _APT.format(package="prometheus-alertmanager")),
    "amtool": _Tool(_on_path, _APT.format(package="prometheus-alertmanager")),
    "redis-server": _Tool(_on_path, _APT.format(package="redis-server")),
    "initdb": _Tool(_postgres_server, _APT.format(package="postgresql")),
    "postgres": _Tool(_postgres_server, _APT.format(package="postgresql")),
    "psql": _Tool(_postgres_server, _APT.format(package="postgresql-client")),
    "toxiproxy-server": _Tool(_in_tools_dir, _SETUP),
    "toxiproxy-cli": _Tool(_in_tools_dir, _SETUP),
    "python": _Tool(_python, "run the harness with a Python 3.11+ interpreter"),
}


def _how_to_get(name: str) -> str:
    return _TOOLS[name].how_to_get.format(tools_dir=tools_dir())


def find(name: str) -> str | None:
    """Absolute path of a known binary, or None when it is not installed."""
    if name not in _TOOLS:
        raise KeyError(f"unknown tool {name!r}; known: {', '.join(sorted(_TOOLS))}")
    return _TOOLS[name].search(name)


def locate(name: str) -> str:
    """Absolute path of a known binary; raises ToolMissingError when it is missing."""
    path = find(name)
    if path is None:
        raise ToolMissingError(name, _how_to_get(name))
    return path


def require(names: Iterable[str]) -> dict[str, str]:
    """Locate several binaries; a failure names the first missing one and lists all others."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        path = find(name)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        first, rest = missing[0], missing[1:]
        how = _how_to_get(first)
        if rest:
            others = "; ".join(f"{n}: {_how_to_get(n)}" for n in rest)
            how = f"{how}; also missing: {others}"
        raise ToolMissingError(first, how)
    return found
