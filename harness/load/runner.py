"""Runs Locust headless in its own process group and reads its CSV results.

A separate process keeps gevent's monkey-patching out of the harness (threads, sockets,
subprocesses and signals stay ordinary here) and is the same shape as distributed mode.
The run is bounded by Locust's own `--run-time` and by `stop()`, whichever comes first.

Distributed mode (`LoadProfile.workers` = N > 0): one master (`--master --expect-workers N`,
listening on 127.0.0.1 at a port from ports.py) and N `--worker` processes, each in its own
process group and killed with the harness (PR_SET_PDEATHSIG). The master aggregates every
worker's requests and writes the same CSV as a single process, so results read the same (the
locustfile makes each worker send its last report before the master quits).
The users and the request rate are those of the profile in total, spread over the workers.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import LoadError
from harness.stack.ports import HOST, PortReservation, allocate_ports
from harness.stack.process import die_with_parent_hook, read_tail

log = logging.getLogger("harness.load")
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
EXPECT_WORKERS_MAX_WAIT_S = 30  # the master gives up when the workers do not all connect
# Locust's start (imports, spawning, in distributed mode the workers too) is awaited this long.
SPAWN_WAIT_S = EXPECT_WORKERS_MAX_WAIT_S + 30.0
SPAWNED_FILE_ENV = "WRKH_SPAWNED_FILE"  # harness/load/locustfile.py writes it
WORKER_EXIT_WAIT_S = 5.0  # workers quit on the master's word; past this they are signalled


@dataclass(frozen=True)
class LoadProfile:
    users: int
    rate_per_user: float
    mix: dict[str, int]
    max_duration_s: float  # hard upper bound; the run is normally stopped earlier
    workers: int = 0  # 0: one Locust process; N: a master and N local worker processes


@dataclass(frozen=True)
class LoadIdentity:
    """What the load generator presents: the run's API key and a canary.

    The canary travels in payloads and headers so the evidence checks can prove it is never
    logged; bad-signature load signs with a wrong secret, so it needs no real one.
    """

    api_key: str
    canary: str
    source_ip: str = "203.0.113.7"  # one fixed documentation address for brute-force load
    # The other tenants' keys: users take the keys in turn, so the load (same total rate)
    # comes from every tenant and per-tenant checks have each one to judge.
    other_api_keys: tuple[str, ...] = ()
    # Where the load appends each webhook signature it sends (None: nowhere); kept out of
    # the report folder, as the signatures are secrets the leak check searches for.
    signatures_file: Path | None = None

    @property
    def api_keys(self) -> tuple[str, ...]:
        return (self.api_key, *self.other_api_keys)


@dataclass(frozen=True)
class RouteStats:
    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    rps: float


@dataclass(frozen=True)
class LoadResult:
    routes: tuple[RouteStats, ...]
    total: RouteStats | None

    def route(self, name: str) -> RouteStats | None:
        return next((r for r in self.routes if r.name == name), None)


class LoadRun:
    """One Locust process (or a master and its workers) driving a target; a context manager."""

    def __init__(
        self,
        host: str,
        identity: LoadIdentity,
        profile: LoadProfile,
        out_dir: Path,
        locustfile: Path = LOCUSTFILE,
    ) -> None:
        self.host, self.profile, self.out_dir = host, profile, out_dir
        self.locustfile = locustfile
        self._identity = identity
        self._proc: subprocess.Popen[bytes] | None = None
        self._workers: list[subprocess.Popen[bytes]] = []
        self._ports: PortReservation | None = None
        self.master_port: int | None = None

    @property
    def csv_prefix(self) -> Path:
        return self.out_dir / "locust"

    @property
    def spawned_file(self) -> Path:
        return self.out_dir / "locust.spawned"

    @property
    def running(self) -> bool:
        """Locust (the master in distributed mode) has started and not exited."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Locust's process (the master in distributed mode), once started."""
        return self._proc.pid if self._proc is not None else None

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    def command(self) -> list[str]:
        """The Locust command line; the master's in distributed mode (start() picks the port)."""
        p = self.profile
        command = [
            sys.executable, "-m", "locust", "-f", str(self.locustfile), "--headless",
            "--host", self.host, "-u", str(p.users), "-r", str(p.users),
            "-t", f"{max(1, int(p.max_duration_s))}s", "--stop-timeout", "2",
            "--csv", str(self.csv_prefix), "--csv-full-history", "--only-summary",
            "--exit-code-on-error", "0", "--loglevel", "WARNING",
        ]  # fmt: skip
        if p.workers > 0:
            command += [
                "--master", "--master-bind-host", HOST,
                "--master-bind-port", str(self.master_port or 0),
                "--expect-workers", str(p.workers),
                "--expect-workers-max-wait", str(EXPECT_WORKERS_MAX_WAIT_S),
            ]  # fmt: skip
        return command

    def worker_command(self) -> list[str]:
        return [
            sys.executable, "-m", "locust", "-f", str(self.locustfile), "--worker",
            "--master-host", HOST, "--master-port", str(self.master_port or 0),
            "--loglevel", "WARNING",
        ]  # fmt: skip

    def start(self) -> LoadRun:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.profile.workers > 0:
                self._ports = allocate_ports(["locust-master"])
                self.master_port = self._ports["locust-master"]
                self._ports.release([self.master_port])
            self.spawned_file.unlink(missing_ok=True)
            announce = {SPAWNED_FILE_ENV: str(self.spawned_file)}
            self._proc = self._spawn(self.command(), "locust.log", announce)
            for i in range(self.profile.workers):
                self._workers.append(self._spawn(self.worker_command(), f"locust-worker-{i}.log"))
        except BaseException:
            self.stop()
            raise
        return self

    def wait_running(self, timeout_s: float = SPAWN_WAIT_S, poll_s: float = 0.05) -> float:
        """Wait until every user runs (the load flows); when that was seen, unix seconds.

        Timing a phase from the process start instead would count Locust's own start-up,
        seconds on a busy machine, as time under load.
        """
        deadline = time.monotonic() + timeout_s
        while not self.spawned_file.exists():
            if not self.running:
                code = self._proc.returncode if self._proc is not None else None
                raise LoadError(
                    f"locust exited ({code}) before its users ran; see {self.out_dir}/locust*.log"
                    "\n" + read_tail(self.out_dir / "locust.log", 20)
                )
            if time.monotonic() > deadline:
                raise LoadError(
                    f"locust's users did not all run within {timeout_s:.0f} s; see "
                    f"{self.out_dir}/locust*.log"
                )
            time.sleep(poll_s)
        return time.time()

    def _spawn(
        self, command: list[str], log_name: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        env = dict(os.environ, **(extra_env or {}))
        ident = self._identity
        env.update(
            WRKH_API_KEY=ident.api_key,
            WRKH_API_KEYS=",".join(ident.api_keys),
            WRKH_SIGNATURES_FILE=str(ident.signatures_file or ""),
            WRKH_CANARY=ident.canary,
            WRKH_SOURCE_IP=ident.source_ip,
            WRKH_MIX=json.dumps(self.profile.mix),
            WRKH_RATE_PER_USER=str(self.profile.rate_per_user),
        )
        with (self.out_dir / log_name).open("wb") as log_file:
            return subprocess.Popen(
                command, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=die_with_parent_hook(),  # noqa: PLW1509  (the hook only calls prctl)
            )  # fmt: skip

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop Locust (SIGTERM lets the master write its CSV), then every worker; idempotent."""
        if self._proc is not None:
            _stop(self._proc, timeout_s)
        for worker in self._workers:
            # The master's quit reaches the workers; one that missed it is stopped here.
            _stop(worker, WORKER_EXIT_WAIT_S, grace_s=WORKER_EXIT_WAIT_S)
        if self._ports is not None:
            self._ports.close()
            self._ports = None

    def result(self) -> LoadResult:
        self.stop()
        proc = self._proc
        if proc is not None and proc.returncode not in (0, -signal.SIGTERM):
            raise LoadError(
                f"locust exited with {proc.returncode}; see {self.out_dir}/locust*.log\n"
                + read_tail(self.out_dir / "locust.log", 20)
            )
        stats = Path(f"{self.csv_prefix}_stats.csv")
        if not stats.exists():
            tail = read_tail(self.out_dir / "locust.log", 20)
            raise LoadError(f"locust wrote no stats file at {stats}; its log ends:\n{tail}")
        return read_stats(stats)

    def __enter__(self) -> LoadRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop(proc: subprocess.Popen[bytes], timeout_s: float, grace_s: float = 0.0) -> None:
    """Wait `grace_s` for a voluntary exit, then SIGTERM the group, then SIGKILL it."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
        return
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def read_stats(path: Path) -> LoadResult:
    if not path.exists():
        raise LoadError(f"locust wrote no stats file at {path}")
    routes: list[RouteStats] = []
    total: RouteStats | None = None
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            stats = RouteStats(
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                median_ms=_num(row["50%"]),
                p95_ms=_num(row["95%"]),
                p99_ms=_num(row["99%"]),
                rps=_num(row["Requests/s"]),
            )
            if row["Name"] == "Aggregated":
                total = stats
            else:
                routes.append(stats)
    return LoadResult(tuple(routes), total)


def _num(text: str) -> float:
    return float(text) if text not in ("", "N/A") else 0.0
