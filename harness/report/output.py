"""Where a run's reports go: a folder checked writable before anything starts, one folder per
run, and `latest`, which always shows the newest run, failed or not.

`latest` is a copy of the run folder without `stack/` (the services' own logs and storage stay
in the run folder): small enough to publish as a CI artifact. When the copy cannot be made (a
full disk), `latest` becomes a link to the run folder instead: a stale `latest` would show the
previous run's verdict as if it were this one's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from harness.errors import ConfigError, Problem, ReportError

LATEST = "latest"
STACK_DIR = "stack"  # the target's own output in a run folder: logs, spans, storage


def check_reports_dir(path: Path, option: str = "--report-dir") -> None:
    """ConfigError unless reports can be written under `path` (created later if missing).

    Probes with a real file: permission bits say nothing to root, and a read-only mount
    answers only to a write.
    """
    existing = next((p for p in (path, *path.parents) if p.exists() or p.is_symlink()), None)
    reason = None
    if existing is None or not existing.is_dir():
        what = "a file" if existing is not None and existing.exists() else "a broken link"
        reason = f"{existing or path} is {what}, not a folder"
    else:
        try:
            fd, probe = tempfile.mkstemp(prefix=".wrkh-probe-", dir=existing)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            reason = f"cannot write into {existing}: {exc.strerror or exc}"
    if reason is not None:
        where = "" if existing == path else f" (the folder {path} would be created there)"
        raise ConfigError([Problem(str(path), option, f"{reason}{where}")])


def point_latest(reports_dir: Path, run_dir: Path) -> None:
    """Make `<reports>/latest` show `run_dir`: a copy without stack/, else a link to it."""
    latest = reports_dir / LATEST
    tmp = reports_dir / f".{LATEST}-{run_dir.name}"
    try:
        _remove(tmp)
        shutil.copytree(run_dir, tmp, ignore=shutil.ignore_patterns(STACK_DIR))
        _remove(latest)
        tmp.rename(latest)
    except OSError as exc:
        _remove(tmp)  # also frees the space the copy took
        _link_latest(latest, run_dir, exc)


def _link_latest(latest: Path, run_dir: Path, cause: OSError) -> None:
    try:
        _remove(latest)
        latest.symlink_to(run_dir.name, target_is_directory=True)
    except OSError as exc:
        raise ReportError(
            f"{latest} could not show run {run_dir.name} (copy: {cause.strerror or cause}; "
            f"link: {exc.strerror or exc}); it is removed rather than left showing an older run"
        ) from None
    raise ReportError(
        f"{latest} links to {run_dir.name} instead of holding a copy: {cause.strerror or cause}"
    )


def _remove(path: Path) -> None:
    """Remove a file, a link or a folder, whichever `path` is; gone already is fine."""
    if path.is_symlink() or path.is_file():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            raise OSError(f"cannot remove {path}")
