"""Runs Locust headless in its own process group and reads its CSV results.

A separate process keeps gevent's monkey-patching out of the harness (threads, sockets,
subprocesses and signals stay ordinary here) and is the same shape as distributed mode.
The run is bounded by Locust's own `--run-time` and by `stop()`, whichever comes first.
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
from dataclasses import dataclass
from pathlib import Path

from harness.errors import LoadError
from harness.stack.process import die_with_parent_hook

log = logging.getLogger("harness.load")
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass(frozen=True)
class LoadProfile:
    users: int
    rate_per_user: float
    mix: dict[str, int]
    max_duration_s: float  # hard upper bound; the run is normally stopped earlier


@dataclass(frozen=True)
class LoadIdentity:
    """What the load generator presents: the run's API key and a canary.

    The canary travels in payloads and headers so the evidence checks can prove it is never
    logged; bad-signature load signs with a wrong secret, so it needs no real one.
    """

    api_key: str
    canary: str
    source_ip: str = "203.0.113.7"  # one fixed documentation address for brute-force load


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
    """One Locust process driving a target; use as a context manager."""

    def __init__(
        self, host: str, identity: LoadIdentity, profile: LoadProfile, out_dir: Path
    ) -> None:
        self.host, self.profile, self.out_dir = host, profile, out_dir
        self._identity = identity
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def csv_prefix(self) -> Path:
        return self.out_dir / "locust"

    def command(self) -> list[str]:
        p = self.profile
        return [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", self.host, "-u", str(p.users), "-r", str(p.users),
            "-t", f"{max(1, int(p.max_duration_s))}s", "--stop-timeout", "2",
            "--csv", str(self.csv_prefix), "--csv-full-history", "--only-summary",
            "--exit-code-on-error", "0", "--loglevel", "WARNING",
        ]  # fmt: skip

    def start(self) -> LoadRun:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        ident = self._identity
        env.update(
            WRKH_API_KEY=ident.api_key,
            WRKH_CANARY=ident.canary,
            WRKH_SOURCE_IP=ident.source_ip,
            WRKH_MIX=json.dumps(self.profile.mix),
            WRKH_RATE_PER_USER=str(self.profile.rate_per_user),
        )
        log_file = (self.out_dir / "locust.log").open("wb")
        self._proc = subprocess.Popen(
            self.command(), env=env, stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent_hook(),  # noqa: PLW1509  (the hook only calls prctl)
        )  # fmt: skip
        log_file.close()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop Locust (SIGTERM lets it write its CSV), then make sure the group is gone."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def result(self) -> LoadResult:
        self.stop()
        proc = self._proc
        if proc is not None and proc.returncode not in (0, -signal.SIGTERM):
            raise LoadError(f"locust exited with {proc.returncode}; see {self.out_dir}/locust.log")
        return read_stats(Path(f"{self.csv_prefix}_stats.csv"))

    def __enter__(self) -> LoadRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
