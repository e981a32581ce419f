"""Port allocation: distinct, held until released, never shared between two runs."""

from __future__ import annotations

import fcntl
import os
import random
import socket
from pathlib import Path

import pytest

from harness.errors import StackError
from harness.stack.ports import allocate_ports, default_range, ephemeral_start


def can_bind(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_ports_are_distinct_and_below_the_ephemeral_range(tmp_path: Path) -> None:
    with allocate_ports(["a", "b", "c", "d"], lock_dir=tmp_path) as ports:
        values = list(ports.ports.values())
        assert len(set(values)) == 4
        low, high = default_range()
        assert all(low <= p < high <= ephemeral_start() for p in values)


def test_a_port_is_held_until_released(tmp_path: Path) -> None:
    with allocate_ports(["svc"], lock_dir=tmp_path) as ports:
        assert not can_bind(ports["svc"])
        ports.release([ports["svc"]])
        assert can_bind(ports["svc"])


def test_a_stray_copy_of_a_released_placeholder_does_not_block_the_service(
    tmp_path: Path,
) -> None:
    """A fork() copies the placeholder into the child until it execs; simulate with dup()."""
    with allocate_ports(["svc"], lock_dir=tmp_path) as ports:
        held = ports._held["svc"].sock
        assert held is not None
        stray = os.dup(held.fileno())
        try:
            ports.release([ports["svc"]])
            with socket.socket() as service:  # as every server here does
                service.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                service.bind(("127.0.0.1", ports["svc"]))
                service.listen()
        finally:
            os.close(stray)


def free_window(size: int) -> tuple[int, int]:
    """`size` consecutive bindable ports; fixed numbers collide with stacks started meanwhile."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            low = probe.getsockname()[1]
        if low + size < 65536 and all(can_bind(p) for p in range(low, low + size)):
            return low, low + size
    raise AssertionError(f"no window of {size} free ports")


def test_two_runs_never_share_a_port_even_after_release(tmp_path: Path) -> None:
    small = free_window(12)  # 12 ports, 6 per run: every draw collides often
    first = allocate_ports([f"a{i}" for i in range(6)], lock_dir=tmp_path, port_range=small)
    first.release(first.ports.values())  # sockets closed, services "starting"
    second = allocate_ports(
        [f"b{i}" for i in range(6)], lock_dir=tmp_path, port_range=small, rng=random.Random(1)
    )
    try:
        assert not set(first.ports.values()) & set(second.ports.values())
        with pytest.raises(StackError, match="no free port"):
            allocate_ports(["c"], lock_dir=tmp_path, port_range=small)
    finally:
        first.close()
        second.close()


def test_close_frees_ports_for_the_next_run(tmp_path: Path) -> None:
    small = free_window(2)
    first = allocate_ports(["a", "b"], lock_dir=tmp_path, port_range=small)
    first.close()
    first.close()  # idempotent
    with allocate_ports(["a", "b"], lock_dir=tmp_path, port_range=small) as again:
        assert sorted(again.ports.values()) == list(range(*small))


def test_a_port_locked_by_another_process_is_skipped(tmp_path: Path) -> None:
    low, high = free_window(2)
    lock = os.open(tmp_path / f"{low}.lock", os.O_RDONLY | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        with allocate_ports(["a"], lock_dir=tmp_path, port_range=(low, high)) as ports:
            assert ports["a"] == low + 1
    finally:
        os.close(lock)


def test_a_port_in_use_is_skipped(tmp_path: Path) -> None:
    low, high = free_window(2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", low))
        with allocate_ports(["a"], lock_dir=tmp_path, port_range=(low, high)) as ports:
            assert ports["a"] == low + 1


def test_kernel_choice_when_no_range_is_usable(tmp_path: Path) -> None:
    with allocate_ports(["a", "b"], lock_dir=tmp_path, port_range=(0, 0)) as ports:
        assert all(p > 0 for p in ports.ports.values())
        assert len(set(ports.ports.values())) == 2


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        allocate_ports(["a", "a"], lock_dir=tmp_path)


def test_a_closed_reservation_leaves_no_lock_file(tmp_path: Path) -> None:
    with allocate_ports(["a", "b"], lock_dir=tmp_path) as ports:
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            f"{port}.lock" for port in ports.ports.values()
        )
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_the_lock_files_no_run_holds(tmp_path: Path) -> None:
    from harness.stack.ports import sweep_port_locks

    for port in (20001, 20002, 20003):  # a killed run's: files left, locks gone with it
        (tmp_path / f"{port}.lock").touch()
    with allocate_ports(["live"], lock_dir=tmp_path) as ports:
        assert sweep_port_locks(tmp_path) == 3
        assert [p.name for p in tmp_path.iterdir()] == [f"{ports['live']}.lock"]
    assert sweep_port_locks(tmp_path) == 0


def test_a_lock_file_unlinked_before_it_was_locked_is_not_taken(tmp_path: Path) -> None:
    from harness.stack import ports as ports_module

    path = tmp_path / "20005.lock"
    fd = ports_module._open_lock_file(path)  # opened by one run ...
    path.unlink()  # ... swept (or closed by its holder) before it locked it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert not ports_module._names(path, fd)
    finally:
        os.close(fd)
    assert ports_module._lock(tmp_path, 20005) >= 0  # a fresh file is fine
