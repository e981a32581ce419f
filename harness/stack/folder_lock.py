"""A run's claim on what it leaves on the machine, so a later run can sweep a dead run's remains.

Teardown removes everything on success, failure, Ctrl-C and SIGTERM; a SIGKILL (an OOM kill, a
CI job cancelled hard) leaves no chance to. Each run therefore holds an exclusive `flock` on a
lease file in its scratch folder (and, for compose, in its run folder named by its containers'
labels). The kernel drops the lock when the process ends, however it ends, so a lease that can
be locked belongs to a run that is gone, and a lease still locked to a run that is alive: no PID
to compare, no PID reuse to fear, and no age guess that could delete a slow run's files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

LOCK_FILE = ".wrkh-lease"
SCRATCH_PREFIX = "wrkh-"


class FolderLock:
    """Holds the lease of `folder` until `release` or the end of the process."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        # Locked under a temporary name, then renamed: a sweep never sees the lease unlocked.
        fd, temp = tempfile.mkstemp(prefix=".lease-", dir=folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, f"{os.getpid()}\n".encode())
            os.replace(temp, self.path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        self._fd: int | None = fd

    def release(self) -> None:
        """Drop the lock (idempotent); the file goes with its folder."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def abandoned(lease: Path) -> bool:
    """True when `lease` exists and no living process holds it."""
    try:
        fd = os.open(lease, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing also drops a lock just taken
    return True


def sweep_scratch(
    base: Path | None = None, before_removal: Callable[[Path], None] | None = None
) -> list[Path]:
    """Remove the scratch folders under `base` (default: the temporary folder) whose run is gone;
    `before_removal(folder)` first releases what the folder's files point at.

    Only folders holding an abandoned lease are touched; anything else is left alone.
    """
    root = Path(base) if base is not None else Path(tempfile.gettempdir())
    removed = []
    for folder in sorted(root.glob(f"{SCRATCH_PREFIX}*")):
        if folder.is_dir() and abandoned(folder / LOCK_FILE):
            if before_removal is not None:
                before_removal(folder)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
