"""What killed runs leave on the machine, removed: their scratch folders (database files), the
shared-memory segment of their Postgres, and their port-lock files.

A run removes all of it itself on success, failure, Ctrl-C and SIGTERM; a SIGKILL leaves it.
Each item is matched to a run that is gone (an abandoned lease, an unlocked lock file, a
segment with nothing attached whose id the dead run's Postgres recorded), never guessed by age
or name: what belongs to a live run is never touched. Every local run sweeps when it starts;
`wrkh sweep` does it on demand.
"""

from __future__ import annotations

from pathlib import Path

from harness.stack.folder_lock import sweep_scratch
from harness.stack.ports import sweep_port_locks
from harness.stack.rundir import PG_DATA
from harness.stack.shared_memory import remove_stale_segment


def sweep(scratch_base: Path | None = None, lock_dir: Path | None = None) -> list[str]:
    """Remove what killed runs left (defaults: the temporary folder, the shared lock folder);
    one line per thing removed."""
    removed: list[str] = []

    def release_shared_memory(folder: Path) -> None:
        shmid = remove_stale_segment(folder / PG_DATA)
        if shmid is not None:
            removed.append(f"shared-memory segment {shmid} of the Postgres in {folder}")

    for folder in sweep_scratch(scratch_base, before_removal=release_shared_memory):
        removed.append(f"scratch folder {folder}")
    locks = sweep_port_locks(lock_dir)
    if locks:
        removed.append(f"{locks} stale port-lock file(s)")
    return removed
