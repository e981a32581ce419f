"""The System V shared-memory segment a killed run's Postgres leaves behind.

Postgres keeps one small System V segment per server as an interlock; it removes it when it
stops, but a postmaster killed outright (SIGKILL when the harness itself is killed) cannot,
and the kernel keeps a segment until someone removes it. (Its other shared memory is mapped
from files in the data directory, `dynamic_shared_memory_type=mmap`, so it goes with the run's
scratch folder.) The postmaster writes the segment's key and id into `postmaster.pid` in its
data directory, which is how a sweep finds exactly that segment: removed only when both the
key and the id match and no process is attached any more (nattch 0), as Postgres itself
decides a segment is stale.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PID_FILE = "postmaster.pid"
SEGMENT_LINE = 6  # 0-based: "<key> <shmid>" (postmaster.pid, Postgres 10 and later)
SEGMENTS = Path("/proc/sysvipc/shm")
_IPC_RMID = 0


@dataclass(frozen=True)
class Segment:
    key: int
    shmid: int
    attached: int  # nattch: processes attached now


def recorded_segment(data_dir: Path) -> tuple[int, int] | None:
    """(key, shmid) that the postmaster of `data_dir` recorded, or None."""
    try:
        lines = (data_dir / PID_FILE).read_text().splitlines()
        key, shmid = (int(v) for v in lines[SEGMENT_LINE].split())
    except (OSError, ValueError, IndexError):
        return None
    return key, shmid


def segments(table: Path = SEGMENTS) -> dict[int, Segment]:
    """The machine's System V segments by id (empty when the kernel table cannot be read)."""
    try:
        rows = table.read_text().splitlines()[1:]
    except OSError:
        return {}
    found = {}
    for row in rows:
        fields = row.split()
        if len(fields) >= 7 and fields[0].lstrip("-").isdigit():
            segment = Segment(int(fields[0]), int(fields[1]), int(fields[6]))
            found[segment.shmid] = segment
    return found


def remove_stale_segment(data_dir: Path, table: Path = SEGMENTS) -> int | None:
    """Remove the segment the Postgres of `data_dir` left, if it is still there and nothing
    is attached; the id removed, or None."""
    recorded = recorded_segment(data_dir)
    if recorded is None:
        return None
    key, shmid = recorded
    segment = segments(table).get(shmid)
    if segment is None or segment.key != key or segment.attached:
        return None
    if _shmctl_remove(shmid) != 0:
        log.warning("could not remove shared-memory segment %d of %s", shmid, data_dir)
        return None
    return shmid


def _shmctl_remove(shmid: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.shmctl(ctypes.c_int(shmid), ctypes.c_int(_IPC_RMID), None))
