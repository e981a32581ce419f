"""Readiness strategies and the loop that polls them.

Each strategy answers one question cheaply and with a bounded timeout; `wait_ready` polls it
against a monotonic deadline and fails fast, with the service's log tail, when the process
exits before it is ready.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness import http_client
from harness.errors import ObserveError, ServiceStartError, StackError
from harness.observe.prometheus import PrometheusClient, Sample
from harness.stack.process import ManagedProcess, describe_exit
from harness.stack.service import Readiness, ServiceSpec

FIRST_POLL_S = 0.02
MAX_POLL_S = 0.25


@dataclass(frozen=True)
class HttpReady:
    """Ready when GET url answers with the expected status."""

    url: str
    expect_status: int = 200
    timeout_s: float = 1.0

    def check(self) -> str | None:
        try:
            status = http_client.shared().get(self.url, timeout=self.timeout_s).status_code
        except http_client.Unavailable as exc:
            return f"GET {self.url}: {http_client.reason(exc)}"
        if status != self.expect_status:
            return f"GET {self.url}: HTTP {status}, expected {self.expect_status}"
        return None


@dataclass(frozen=True)
class RedisReady:
    """Ready when Redis answers PING with +PONG (raw RESP; no client library needed)."""

    host: str
    port: int
    timeout_s: float = 1.0

    def check(self) -> str | None:
        try:
            with socket.create_connection((self.host, self.port), self.timeout_s) as sock:
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                reply = sock.recv(64)
        except OSError as exc:
            return f"redis {self.host}:{self.port}: {exc.strerror or exc}"
        if not reply.startswith(b"+PONG"):
            return f"redis {self.host}:{self.port}: answered {reply[:40]!r}"
        return None


@dataclass(frozen=True)
class PostgresReady:
    """Ready when `psql ... -c 'select 1'` over TCP prints 1."""

    psql: str
    host: str
    port: int
    user: str = "postgres"
    dbname: str = "postgres"
    timeout_s: float = 3.0

    def check(self) -> str | None:
        command = [self.psql, "-h", self.host, "-p", str(self.port), "-U", self.user]
        command += ["-d", self.dbname, "-w", "-tAc", "select 1"]
        env = dict(os.environ, PGCONNECT_TIMEOUT=str(max(1, int(self.timeout_s))))
        try:
            done = subprocess.run(
                command,
                check=False,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return f"psql timed out after {self.timeout_s}s"
        except OSError as exc:
            return f"cannot run psql: {exc}"
        if done.returncode == 0 and done.stdout.strip() == "1":
            return None
        lines = done.stderr.strip().splitlines()
        return f"psql: {lines[-1] if lines else f'exit {done.returncode}'}"


@dataclass(frozen=True)
class PrometheusScraped:
    """Ready when every job's latest `up` sample is 1 and newer than `since_unix`.

    `/-/ready` is not enough: Prometheus 2.42 throttles target updates, so the first scrape
    comes ~6 s after start. The query `up[window]` returns raw samples with their own
    timestamps (an instant `up` query would report the evaluation time instead).
    """

    prometheus_url: str
    jobs: tuple[str, ...]
    since_unix: float
    window: str = "15s"
    timeout_s: float = 2.0

    def check(self) -> str | None:
        prometheus = PrometheusClient(self.prometheus_url, self.timeout_s, retry=False)
        try:
            latest = _latest_up(prometheus.query(f"up[{self.window}]"))
        except ObserveError as exc:
            prometheus.close()
            return str(exc)
        waiting = [j for j in self.jobs if j not in latest or latest[j][0] <= self.since_unix]
        down = [j for j in self.jobs if j not in waiting and latest[j][1] != 1.0]
        parts = []
        if waiting:
            parts.append(f"no scrape yet of {', '.join(waiting)}")
        if down:
            parts.append("down: " + "; ".join(_down_reason(prometheus, j) for j in down))
        prometheus.close()
        return "; ".join(parts) or None


@dataclass(frozen=True)
class Exited:
    """Readiness of a oneshot step: the supervisor waits for exit status 0 instead."""

    def check(self) -> str | None:
        return "still running"


def _latest_up(samples: list[Sample]) -> dict[str, tuple[float, float]]:
    """job -> (timestamp, value) of its newest `up` sample."""
    latest: dict[str, tuple[float, float]] = {}
    for s in samples:
        job = s.labels.get("job", "")
        if job not in latest or s.timestamp > latest[job][0]:
            latest[job] = (s.timestamp, s.value)
    return latest


def _down_reason(prometheus: PrometheusClient, job: str) -> str:
    """The scrape error Prometheus recorded for a down job, when it can be read."""
    try:
        targets = prometheus.targets()
    except ObserveError:
        return job
    errors = [t.get("lastError", "") for t in targets if t.get("labels", {}).get("job") == job]
    return f"{job} ({errors[0]})" if errors and errors[0] else job


class Cancelled(StackError):
    """Waiting was abandoned because the start of the stack is being aborted."""


def wait_ready(
    spec: ServiceSpec,
    process: ManagedProcess,
    *,
    readiness: Readiness | None = None,
    timeout_s: float | None = None,
    cancel: threading.Event | None = None,
) -> float:
    """Poll the spec's readiness (or `readiness`) until ready; returns the seconds waited.

    Raises ServiceStartError when the process exits first or the deadline passes, and
    Cancelled when `cancel` is set.
    """
    strategy = readiness or spec.readiness
    timeout = spec.start_timeout_s if timeout_s is None else timeout_s
    return _poll(spec.name, process, strategy.check, timeout, cancel, exits_ok=False)


def wait_exited(
    process: ManagedProcess,
    *,
    timeout_s: float | None = None,
    cancel: threading.Event | None = None,
) -> float:
    """Wait for a oneshot process to exit with status 0; returns the seconds waited."""
    timeout = process.spec.start_timeout_s if timeout_s is None else timeout_s
    return _poll(process.name, process, Exited().check, timeout, cancel, exits_ok=True)


def _poll(
    name: str,
    process: ManagedProcess,
    check: Callable[[], str | None],
    timeout_s: float,
    cancel: threading.Event | None,
    *,
    exits_ok: bool,
) -> float:
    started = time.monotonic()
    deadline = started + timeout_s
    pause = FIRST_POLL_S
    waiter = cancel or threading.Event()
    while True:
        code = process.exit_code()
        if code is not None:
            if exits_ok and code == 0:
                return time.monotonic() - started
            raise ServiceStartError(name, _exit_reason(code, exits_ok), process.log_tail())
        reason = check()
        if reason is None:
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            raise ServiceStartError(
                name, f"not ready after {timeout_s:.1f}s: {reason}", process.log_tail()
            )
        if waiter.wait(min(pause, max(0.0, deadline - time.monotonic()))):
            raise Cancelled(f"waiting for {name} cancelled")
        pause = min(MAX_POLL_S, pause * 1.5)


def _exit_reason(code: int, oneshot: bool) -> str:
    how = describe_exit(code)
    return how if oneshot else f"{how} before becoming ready"
