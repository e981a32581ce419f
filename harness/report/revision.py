"""Which code and which conditions produced a run, so runs of the same revision can be told
apart from runs of different ones (a check that passed and failed on one revision is flaky).

- `commit`, `dirty`: the harness checkout's git HEAD and whether it had uncommitted changes
  (None when it is not a git checkout or git is missing).
- `tree`: a hash of what the run executed: harness/, fake_services/ (the local system under
  test) and the scenario folder the run read (it may lie outside the checkout). Two dirty
  checkouts of one commit differ here; so does a catalogue copied and edited elsewhere.
- `conditions`: a hash of the run options that change verdicts on purpose (faults left out,
  extra environment for the fakes such as WRK_DEFECTS, Locust workers); hashed, so a value
  given in the environment never reaches a report.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
GIT_TIMEOUT_S = 10.0
_SKIPPED_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


@dataclass(frozen=True)
class Revision:
    commit: str | None
    dirty: bool | None
    tree: str
    conditions: str

    @property
    def key(self) -> str:
        """Equal for runs of the same code, suite and conditions."""
        return f"{self.commit or '-'}/{self.tree}/{self.conditions}"

    @property
    def label(self) -> str:
        """Short and readable: `3f2c1a9b0d4e` or `3f2c1a9b0d4e+dirty`, else the tree hash."""
        if self.commit is None:
            return f"tree {self.tree[:12]}"
        return self.commit[:12] + ("+dirty" if self.dirty else "")


def current_revision(suite_dir: Path, conditions: Mapping[str, object]) -> Revision:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain") if commit is not None else None
    folders = [CHECKOUT / "harness", CHECKOUT / "fake_services", suite_dir]
    return Revision(
        commit=commit,
        dirty=None if status is None else bool(status),
        tree=tree_hash(folders),
        conditions=_digest(json.dumps(conditions, sort_keys=True, default=str).encode()),
    )


def tree_hash(folders: Iterable[Path]) -> str:
    """sha256 over every file's path and content under `folders` (caches left out)."""
    h = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(_files(folder)):
            h.update(f"{folder.name}/{path.relative_to(folder).as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def _files(folder: Path) -> Iterable[Path]:
    for path in folder.iterdir():
        if path.is_dir() and path.name not in _SKIPPED_DIRS:
            yield from _files(path)
        elif path.is_file() and path.suffix != ".pyc":
            yield path


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git(*args: str) -> str | None:
    """git's output in the harness checkout; None when it is not one or git fails."""
    try:
        proc = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(CHECKOUT), *args],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None
