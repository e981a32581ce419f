"""Starting and stopping real processes for the fakes' tests: only ever by our own PIDs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.stack.folder_lock import SCRATCH_PREFIX, FolderLock, sweep_scratch
from harness.stack.process import die_with_parent_hook

# Held for the life of the test process: a folder of a killed test run gets swept later.
_LEASES: list[FolderLock] = []


def scratch_folder(kind: str) -> Path:
    """A fresh temporary folder leased to this process (harness.stack.folder_lock); leftovers of
    killed runs are swept first."""
    sweep_scratch()
    root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}-"))
    _LEASES.append(FolderLock(root))
    return root


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_group(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace_s: float = 10
) -> None:
    """Signal the process group we created for `proc`; SIGKILL it if it outstays the grace."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)
    except ProcessLookupError:
        proc.wait(timeout=grace_s)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10) -> None:
    """Terminate one child we started; kill it if it outstays the grace."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)


def log_tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ServiceProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    base_url: str

    def stop(self) -> None:
        stop_group(self.proc)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()


def start_service(name: str, env: Mapping[str, str], log_dir: Path) -> ServiceProcess:
    port = free_port()
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **env, "WRK_HOST": "127.0.0.1", "WRK_PORT": str(port)}
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fake_services", name],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stoppable without touching others
            # Killed if the test process is killed; the hook only calls prctl.
            preexec_fn=die_with_parent_hook(),  # noqa: PLW1509
        )
    service = ServiceProcess(name, proc, log_path, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(service, timeout_s=30)
    except BaseException:
        service.stop()
        raise
    return service


def wait_healthy(service: ServiceProcess, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            tail = log_tail(service.log_path)
            raise RuntimeError(f"{service.name} exited with {service.proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"{service.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(
        f"{service.name} not healthy in {timeout_s} s:\n{log_tail(service.log_path)}"
    )
