"""The throwaway servers of these tests die with the process that started them, even SIGKILLed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import _postgres, _redis

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for a test session: starts the servers, reports their PIDs, then waits to be killed.
_SESSION = """
import sys, time
from tests.fakes import _postgres, _redis
pg = _postgres.start_postgres()
server = _redis.start_redis()
print(pg.proc.pid, pg.root, server.proc.pid, server.root, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody reaped (which holds no port)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(
    not (_postgres.available() and _redis.available()), reason="postgres/redis not installed"
)
def test_servers_die_when_the_test_process_is_killed() -> None:
    session = subprocess.Popen(
        [sys.executable, "-c", _SESSION], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    started: list[tuple[int, str]] = []
    try:
        assert session.stdout is not None
        pg_pid, pg_root, redis_pid, redis_root = session.stdout.readline().split()
        started = [(int(pg_pid), pg_root), (int(redis_pid), redis_root)]
        assert all(_alive(pid) for pid, _ in started)
        session.send_signal(signal.SIGKILL)  # no teardown runs: only the kernel can clean up
        session.wait(timeout=10)
        assert _wait_dead(int(pg_pid), 15), "postgres outlived the killed test process"
        assert _wait_dead(int(redis_pid), 15), "redis outlived the killed test process"
    finally:
        if session.poll() is None:
            session.kill()
            session.wait(timeout=10)
        for pid, root in started:  # only if the assertion failed: these are ours to stop
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(root, ignore_errors=True)
