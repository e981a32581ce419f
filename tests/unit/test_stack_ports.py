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


def test_two_runs_never_share_a_port_even_after_release(tmp_path: Path) -> None:
    small = (21000, 21012)  # 12 ports, 6 per run: every draw collides often
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
    small = (21100, 21102)
    first = allocate_ports(["a", "b"], lock_dir=tmp_path, port_range=small)
    first.close()
    first.close()  # idempotent
    with allocate_ports(["a", "b"], lock_dir=tmp_path, port_range=small) as again:
        assert sorted(again.ports.values()) == [21100, 21101]


def test_a_port_locked_by_another_process_is_skipped(tmp_path: Path) -> None:
    lock = os.open(tmp_path / "21200.lock", os.O_RDONLY | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        with allocate_ports(["a"], lock_dir=tmp_path, port_range=(21200, 21202)) as ports:
            assert ports["a"] == 21201
    finally:
        os.close(lock)


def test_a_port_in_use_is_skipped(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 21300))
        with allocate_ports(["a"], lock_dir=tmp_path, port_range=(21300, 21302)) as ports:
            assert ports["a"] == 21301


def test_kernel_choice_when_no_range_is_usable(tmp_path: Path) -> None:
    with allocate_ports(["a", "b"], lock_dir=tmp_path, port_range=(0, 0)) as ports:
        assert all(p > 0 for p in ports.ports.values())
        assert len(set(ports.ports.values())) == 2


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        allocate_ports(["a", "a"], lock_dir=tmp_path)
