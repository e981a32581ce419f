"""A fresh directory per run: logs, storage of every service, rendered configuration.

A run directory is never reused: a reused Prometheus TSDB brings back samples inside the
5-minute lookback and would make a new run see the last run's alerts.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import StackError
from harness.stack.folder_lock import SCRATCH_PREFIX

PG_DATA = "pg-data"  # in the scratch folder


@dataclass(frozen=True)
class RunPaths:
    """What every stack writes for the harness to read: service logs, spans, Prometheus config."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def spans(self) -> Path:
        return self.root / "spans"

    @property
    def prometheus_config(self) -> Path:
        return self.root / "prometheus.yml"


@dataclass(frozen=True)
class RunDir(RunPaths):
    """Paths inside `<base>/<run_id>/` of a local stack."""

    run_id: str
    # Postgres's data lives outside `root`: the report folder may sit under a directory the
    # `postgres` user cannot enter (a 0700 home or pytest's tmp), and the data is not a report.
    scratch: Path

    @property
    def prometheus_data(self) -> Path:
        return self.root / "prometheus-data"

    @property
    def pg_data(self) -> Path:
        return self.scratch / PG_DATA

    @property
    def alertmanager_data(self) -> Path:
        return self.root / "alertmanager"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def span_file(self, service: str) -> Path:
        return self.spans / f"{service}.jsonl"


def new_run_id() -> str:
    """Sortable by start time, unique across concurrent runs."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def create_run_dir(
    base: Path, run_id: str | None = None, scratch_base: Path | None = None
) -> RunDir:
    """Create `<base>/<run_id>/` with its sub-folders; an existing one is an error.

    The scratch folder goes under `scratch_base` (default: the system's temporary folder).
    """
    rid = run_id or new_run_id()
    if rid in (".", "..") or "/" in rid:
        raise StackError(f"run id {rid!r} must be a plain folder name")
    root = Path(base).resolve() / rid
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        root.mkdir()
    except FileExistsError:
        raise StackError(f"run directory {root} already exists; runs never reuse one") from None
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{rid}-", dir=scratch_base))
    scratch.chmod(0o711)  # enterable (not listable) by the postgres user
    run = RunDir(root=root, run_id=rid, scratch=scratch)
    for folder in (run.logs, run.prometheus_data, run.alertmanager_data, run.spans):
        folder.mkdir()
    # initdb insists on an owner-only data directory.
    run.pg_data.mkdir(mode=0o700)
    return run


def remove_scratch(run: RunDir) -> None:
    """Delete the run's scratch folder (database files); the reports stay."""
    shutil.rmtree(run.scratch, ignore_errors=True)


def hand_over(path: Path, user: str) -> None:
    """Give a directory to another OS user (postgres runs as `postgres` when we are root)."""
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def check_traversable(path: Path, user: str) -> None:
    """Raise StackError unless `user` can reach `path` through all of its parents.

    Checks the classic permission bits only (not ACLs); enough for the usual culprit, a
    0700 temporary or home directory somewhere above the run directory.
    """
    entry = pwd.getpwnam(user)
    groups = set(os.getgrouplist(user, entry.pw_gid))
    for folder in reversed(path.resolve().parents):
        info = folder.stat()
        if info.st_uid == entry.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            raise StackError(
                f"user {user!r} cannot traverse {folder} (mode {stat.filemode(info.st_mode)}), "
                f"so it cannot reach {path}; choose a base directory whose parents are "
                f"searchable by others (e.g. chmod o+x {folder})"
            )
