"""A throwaway Redis server for the fakes' tests (no persistence, stopped by PID; killed by the
kernel if the test process is killed first, like the Postgres of _postgres.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from harness.stack.process import die_with_parent_hook

from ._processes import free_port, scratch_folder, stop_process

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def available() -> bool:
    return Path(REDIS_SERVER).exists()


@dataclass
class Redis:
    root: Path
    port: int
    proc: subprocess.Popen[bytes]

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def flush(self) -> None:
        with redis.Redis(port=self.port, socket_timeout=5) as client:
            client.flushall()

    def stop(self) -> None:
        stop_process(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis() -> Redis:
    root = scratch_folder("redis")
    port = free_port()
    args = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    args += ["--appendonly", "no", "--dir", str(root)]
    log = (root / "redis.log").open("wb")
    proc = subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent_hook(),  # noqa: PLW1509  (the hook only calls prctl)
    )
    log.close()
    server = Redis(root, port, proc)
    deadline = time.monotonic() + 10
    while True:
        try:
            with redis.Redis(port=port, socket_timeout=1) as client:
                client.ping()
            return server
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError((root / "redis.log").read_text()) from None
            time.sleep(0.05)
