"""Sweeping what a killed run left: scratch folders, its Postgres's System V segment, port locks."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from harness.stack import shared_memory
from harness.stack.folder_lock import FolderLock
from harness.stack.rundir import PG_DATA
from harness.stack.shared_memory import recorded_segment, remove_stale_segment, segments
from harness.stack.sweep import sweep

_IPC_PRIVATE, _IPC_CREAT = 0, 0o1000
_libc = ctypes.CDLL(None, use_errno=True)


def _pid_file(data_dir: Path, key: int, shmid: int) -> None:
    data_dir.mkdir(parents=True)
    lines = ["4242", str(data_dir), "1796630337", "5432", "", "127.0.0.1"]
    (data_dir / "postmaster.pid").write_text("\n".join([*lines, f" {key}    {shmid}", "ready"]))


def _table(path: Path, *rows: tuple[int, int, int]) -> Path:
    head = "       key      shmid perms   size  cpid  lpid nattch   uid   gid"
    body = [f"{k:>10} {s:>10} 600 56 4242 4242 {n:>6} 101 104" for k, s, n in rows]
    path.write_text("\n".join([head, *body]) + "\n")
    return path


def test_the_segment_recorded_by_postgres_is_read(tmp_path: Path) -> None:
    _pid_file(tmp_path / "pg", 10262400, 557101)
    assert recorded_segment(tmp_path / "pg") == (10262400, 557101)
    assert recorded_segment(tmp_path / "none") is None
    table = _table(tmp_path / "shm", (10262400, 557101, 0), (-1, 7, 3))
    assert segments(table)[557101].attached == 0 and segments(table)[7].key == -1


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ((10262400, 557101, 2), "still attached"),
        ((99, 557101, 0), "another key: the id was reused by someone else"),
        ((10262400, 8, 0), "not there any more"),
    ],
)
def test_a_segment_is_left_alone_unless_it_is_exactly_the_stale_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, row: tuple[int, int, int], why: str
) -> None:
    removed: list[int] = []
    monkeypatch.setattr(shared_memory, "_shmctl_remove", lambda shmid: removed.append(shmid) or 0)
    _pid_file(tmp_path / "pg", 10262400, 557101)
    assert remove_stale_segment(tmp_path / "pg", _table(tmp_path / "shm", row)) is None, why
    assert removed == []


def test_a_real_stale_segment_is_removed(tmp_path: Path) -> None:
    shmid = _libc.shmget(_IPC_PRIVATE, 56, _IPC_CREAT | 0o600)
    assert shmid >= 0, ctypes.get_errno()
    try:
        key = segments()[shmid].key
        _pid_file(tmp_path / "pg", key, shmid)
        assert remove_stale_segment(tmp_path / "pg") == shmid
        assert shmid not in segments()
    finally:
        _libc.shmctl(shmid, 0, None)  # gone already when the test passed


def test_sweep_removes_a_dead_runs_scratch_segment_and_port_locks(tmp_path: Path) -> None:
    scratch, locks = tmp_path / "tmp", tmp_path / "locks"
    dead = scratch / "wrkh-dead-run"
    shmid = _libc.shmget(_IPC_PRIVATE, 56, _IPC_CREAT | 0o600)
    try:
        _pid_file(dead / PG_DATA, segments()[shmid].key, shmid)
        FolderLock(dead).release()  # the run is gone: its lease is not held
        locks.mkdir()
        (locks / "20011.lock").touch()
        found = sweep(scratch, locks)
        assert found == [
            f"shared-memory segment {shmid} of the Postgres in {dead}",
            f"scratch folder {dead}",
            "1 stale port-lock file(s)",
        ]
        assert not dead.exists() and shmid not in segments() and not any(locks.iterdir())
    finally:
        _libc.shmctl(shmid, 0, None)
