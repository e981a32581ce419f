"""Leases tell a killed run's scratch folders from a live run's, whatever killed it."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.stack.folder_lock import LOCK_FILE, FolderLock, abandoned, sweep_scratch

ROOT = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys, time; from pathlib import Path; from harness.stack.folder_lock import FolderLock; "
    "FolderLock(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)"
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A folder whose lease another process holds, as a live run does."""
    folder = tmp_path / "wrkh-run-1"
    folder.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield folder, proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_live_runs_folder_is_kept(holder: tuple[Path, subprocess.Popen[str]]) -> None:
    folder, _ = holder
    assert not abandoned(folder / LOCK_FILE)
    assert sweep_scratch(folder.parent) == []
    assert folder.exists()


def test_a_sigkilled_runs_folder_is_swept(holder: tuple[Path, subprocess.Popen[str]]) -> None:
    folder, proc = holder
    (folder / "pg-data").mkdir()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert abandoned(folder / LOCK_FILE)
    assert sweep_scratch(folder.parent) == [folder]
    assert not folder.exists()


def test_folders_without_a_lease_or_not_ours_are_left_alone(tmp_path: Path) -> None:
    legacy = tmp_path / "wrkh-legacy"
    legacy.mkdir()
    other = tmp_path / "someone-else"
    other.mkdir()
    released = FolderLock(other)
    released.release()
    assert sweep_scratch(tmp_path) == []
    assert legacy.exists() and other.exists()


def test_a_lease_is_held_until_released(tmp_path: Path) -> None:
    lease = FolderLock(tmp_path)
    assert lease.path == tmp_path / LOCK_FILE
    assert not abandoned(lease.path)
    lease.release()
    lease.release()  # idempotent
    assert abandoned(lease.path)
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]  # no temporary name left


def test_wrkh_sweep_names_what_it_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead, alive = tmp_path / "wrkh-dead", tmp_path / "wrkh-alive"
    dead.mkdir()
    alive.mkdir()
    FolderLock(dead).release()
    held = FolderLock(alive)
    try:
        assert main(["sweep"]) == 0
    finally:
        held.release()
    assert capsys.readouterr().out == f"removed scratch folder {dead}\n"
    assert not dead.exists() and alive.exists()
