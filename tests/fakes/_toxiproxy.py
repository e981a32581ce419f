"""Toxiproxy for the fakes' tests: the server binary, one proxy, enable/disable with deadlines."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.stack.process import die_with_parent_hook

from ._processes import free_port, log_tail, stop_process

BINARY = Path(__file__).resolve().parents[2] / "tools" / "bin" / "toxiproxy-server"
API_TIMEOUT_S = 5.0


def available() -> bool:
    return BINARY.exists()


@dataclass
class Toxiproxy:
    proc: subprocess.Popen[bytes]
    api: str
    log_path: Path

    def create_proxy(self, name: str, upstream_port: int) -> int:
        """A proxy on a fresh loopback port forwarding to `upstream_port`; returns its port."""
        port = free_port()
        body = {
            "name": name,
            "listen": f"127.0.0.1:{port}",
            "upstream": f"127.0.0.1:{upstream_port}",
            "enabled": True,
        }
        httpx.post(f"{self.api}/proxies", json=body, timeout=API_TIMEOUT_S).raise_for_status()
        return port

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Disabled, the proxy closes its listener and every open connection: a hard outage."""
        url = f"{self.api}/proxies/{name}"
        response = httpx.post(url, json={"enabled": enabled}, timeout=API_TIMEOUT_S)
        response.raise_for_status()
        assert response.json()["enabled"] is enabled

    def add_latency(self, name: str, latency_ms: int) -> None:
        """Every packet from the upstream delayed by `latency_ms`: slow answers, slow connects."""
        body = {"type": "latency", "stream": "downstream", "attributes": {"latency": latency_ms}}
        url = f"{self.api}/proxies/{name}/toxics"
        httpx.post(url, json=body, timeout=API_TIMEOUT_S).raise_for_status()

    def stop(self) -> None:
        stop_process(self.proc)


def start_toxiproxy(log_dir: Path) -> Toxiproxy:
    port = free_port()
    log_path = log_dir / "toxiproxy.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [BINARY, "-host", "127.0.0.1", "-port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent_hook(),  # noqa: PLW1509  (the hook only calls prctl)
        )
    server = Toxiproxy(proc, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{server.api}/version", timeout=1).raise_for_status()
            return server
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"toxiproxy did not start:\n{log_tail(log_path)}") from None
            time.sleep(0.05)
