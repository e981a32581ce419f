"""Throughput, latency and memory of the fakes under a mixed Studio/Admin load.

Starts Postgres, Redis and the fakes (the test helpers of tests/fakes), drives the edge with
Locust headless in a subprocess for a bounded time, and prints req/s, p50/p95/p99, the CPU each
service spent per request, the peak RSS of the fake processes (sampled every 0.5 s) and the
machine's load average around the load (req/s and latency depend on it).

Which fakes share the cores with the load (`--system`):
  api    platform, core and edge, the path the target names; the webhook and the four workers
         start after the load and drain the jobs it queued (the memory of all eight is sampled
         then too);
  whole  all eight from the start: the workers build, ingest and notify for the versions the
         load creates, and the platform streams signed run events to the webhook
         (`--run-events-per-s`), which stores them and queues their usage aggregation.

Each user's requests start as a Poisson process (`--arrivals poisson`): the load of independent
clients. `disp` says how bunched the starts were: the variance over the mean of the number of
starts per 10 ms, 1 for Poisson arrivals, more when requests come in bursts.

    .venv/bin/python benchmarks/fakes_throughput.py --runs 3 --duration 20

Targets (2 cores, Locust on the same machine, `--system whole`): >= 300 req/s at p95 < 100 ms
through edge and core, without failures; all fakes <= 600 MB RSS. The last line says in how many
runs each was met. The history of the figures is in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.arrivals import ARRIVALS, dispersion, read_starts  # noqa: E402
from fake_services import routes  # noqa: E402
from harness.stack.process import die_with_parent_hook  # noqa: E402
from tests.fakes import _postgres, _redis  # noqa: E402
from tests.fakes._stack import (  # noqa: E402
    ADMIN_KEY,
    STUDIO_KEY,
    TENANT,
    WORKERS,
    Stack,
    start_stack,
)

LOCUSTFILE = Path(__file__).with_name("fakes_locustfile.py")
LOAD_PATH = ("platform", "core", "edge")
ALL_FAKES = (*LOAD_PATH, "webhook", *WORKERS)
# Where the machine's CPU goes: the load path, the webhook, the four workers together, Postgres,
# Locust, and everything busy on the machine (the rest is the kernel's network work, Redis and
# other tenants of a shared machine).
CPU_SHARES = (*LOAD_PATH, "webhook", "workers", "postgres", "locust", "machine")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RSS_SAMPLE_S = 0.5
# api: how long the webhook and workers, started after the load, work on what it queued.
SETTLE_S = 3.0


@dataclass(frozen=True)
class System:
    """Which fakes run during the load, and which only after it."""

    during: tuple[str, ...]
    after: tuple[str, ...]
    run_events: bool  # the platform streams run events to the webhook during the load


SYSTEMS = {
    "api": System(LOAD_PATH, ("webhook", *WORKERS), run_events=False),
    "whole": System(ALL_FAKES, (), run_events=True),
}
# The targets (2 cores, Locust on the same machine).
TARGET_RPS = 300
TARGET_P95_MS = 100
TARGET_RSS_MB = 600


@dataclass
class RunResult:
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_ms_per_request: dict[str, float]
    # The highest resident memory seen during the load, sampled every RSS_SAMPLE_S.
    rss_load_path_mb: float
    rss_all_fakes_mb: float
    # Run events the platform sent during the load that the webhook acknowledged.
    run_events: int
    # The machine's 1-minute load average at the start and end of the load: on a shared machine
    # req/s and latency depend on it, CPU ms per request much less.
    load_before: float
    load_after: float
    # How bunched the request starts were (variance / mean of starts per 10 ms): 1 for Poisson
    # arrivals; bunched starts queue behind each other and raise latency at the same req/s.
    dispersion: float | None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _stat(path: Path) -> tuple[int, float]:
    """A /proc/<pid>/stat's parent pid and CPU seconds (user + system)."""
    # Fields after the command name (which may hold spaces): ppid is 4, utime and stime 14, 15.
    fields = path.read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_s(pid: int) -> float:
    return _stat(Path(f"/proc/{pid}/stat"))[1]


def tree_cpu_s(pid: int) -> float:
    """CPU of a process and its direct children (Postgres: the postmaster and its backends)."""
    total = cpu_s(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent, cpu = _stat(stat)
        except OSError:  # the process ended meanwhile
            continue
        if parent == pid:
            total += cpu
    return total


def machine_busy_s() -> float:
    # /proc/stat's first line: user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fakes_cpu_s(stack: Stack, names: tuple[str, ...]) -> float:
    """CPU of those of `names` that run (with --system api, the workers are not yet started)."""
    return sum(cpu_s(stack[name].proc.pid) for name in names if name in stack.services)


def cpu_snapshot(stack: Stack, pg: _postgres.Postgres) -> dict[str, float]:
    snapshot = {name: fakes_cpu_s(stack, (name,)) for name in (*LOAD_PATH, "webhook")}
    snapshot["workers"] = fakes_cpu_s(stack, WORKERS)
    snapshot["postgres"] = tree_cpu_s(pg.proc.pid)
    snapshot["locust"] = children_cpu_s()  # Locust is the one child waited for during the load
    snapshot["machine"] = machine_busy_s()
    return snapshot


def total_rss(stack: Stack, names: tuple[str, ...]) -> float:
    # A copy: with --system api the stack grows while this is sampled.
    running = dict(stack.services)
    return sum(rss_mb(running[name].proc.pid) for name in names if name in running)


class PeakRss:
    """The highest total RSS of the load path and of all running fakes, sampled in a thread."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.load_path_mb = self.all_fakes_mb = 0.0

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.load_path_mb = max(self.load_path_mb, total_rss(self._stack, LOAD_PATH))
            self.all_fakes_mb = max(self.all_fakes_mb, total_rss(self._stack, ALL_FAKES))
            if self._done.wait(RSS_SAMPLE_S):
                return


def acknowledged_run_events(stack: Stack) -> int:
    """Run events the webhook acknowledged so far (0 with --system api: none are sent)."""
    url = f"{stack.url('platform')}{routes.PLATFORM_RUN_EVENTS_STATUS}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return int(json.load(answer)["acknowledged"])


def run_locust(host: str, out: Path, args: argparse.Namespace) -> Path:
    prefix = out / "locust"
    env = {
        **os.environ,
        "FAKES_STUDIO_KEY": STUDIO_KEY,
        "FAKES_ADMIN_KEY": ADMIN_KEY,
        "FAKES_RATE_PER_USER": str(args.rate_per_user),
        "FAKES_ARRIVALS": args.arrivals,
        "FAKES_STARTS": str(starts_file(out)),
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", host, "-u", str(args.users), "-r", str(args.spawn_rate),
        "--run-time", f"{args.duration}s", "--stop-timeout", "2", "--csv", str(prefix),
        "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    with (out / "locust.log").open("wb") as log:
        # Locust exits non-zero when any request failed; the CSV still says what happened.
        subprocess.run(
            command,
            check=False,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=args.duration + 60,
            preexec_fn=die_with_parent_hook(),
        )
    return prefix.with_name("locust_stats.csv")


def starts_file(out: Path) -> Path:
    return out / "locust_starts.txt"


def aggregated(stats_csv: Path) -> dict[str, str]:
    with stats_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    return next(row for row in rows if row["Name"] == "Aggregated")


def one_run(
    pg: _postgres.Postgres, redis: _redis.Redis, out: Path, args: argparse.Namespace
) -> RunResult:
    redis.flush()
    database_url = pg.create_database()
    system = SYSTEMS[args.system]
    common = {"WRK_LOG_LEVEL": args.log_level}
    stream = {"WRK_RUN_EVENT_RATE": str(args.run_events_per_s), "WRK_RUN_EVENT_TENANT": TENANT}
    overrides = {"platform": stream} if system.run_events else {}
    stack = start_stack(
        system.during, database_url, redis.url(), out, common=common, overrides=overrides
    )
    try:
        with PeakRss(stack) as peak:
            events_before = acknowledged_run_events(stack)
            load_before = os.getloadavg()[0]
            before = cpu_snapshot(stack, pg)
            row = aggregated(run_locust(stack.url("edge"), out, args))
            after = cpu_snapshot(stack, pg)
            load_after = os.getloadavg()[0]
            run_events = acknowledged_run_events(stack) - events_before
            if system.after:
                start_stack(
                    system.after, database_url, redis.url(), out, common=common, extend=stack
                )
                time.sleep(SETTLE_S)
        requests = int(row["Request Count"])
    finally:
        stack.stop()
    return RunResult(
        requests=requests,
        failures=int(row["Failure Count"]),
        rps=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p95_ms=float(row["95%"]),
        p99_ms=float(row["99%"]),
        cpu_ms_per_request={
            name: round((after[name] - before[name]) * 1000 / max(1, requests), 3)
            for name in CPU_SHARES
        },
        rss_load_path_mb=round(peak.load_path_mb, 1),
        rss_all_fakes_mb=round(peak.all_fakes_mb, 1),
        run_events=run_events,
        load_before=round(load_before, 2),
        load_after=round(load_after, 2),
        dispersion=_rounded(dispersion(read_starts(starts_file(out)))),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def median_of(results: list[RunResult]) -> dict[str, object]:
    scalars = ("requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms", "run_events")
    medians: dict[str, object] = {
        key: statistics.median(getattr(r, key) for r in results) for key in scalars
    }
    medians["cpu_ms_per_request"] = {
        name: statistics.median(r.cpu_ms_per_request[name] for r in results) for name in CPU_SHARES
    }
    medians["rss_load_path_mb"] = statistics.median(r.rss_load_path_mb for r in results)
    medians["rss_all_fakes_mb"] = statistics.median(r.rss_all_fakes_mb for r in results)
    return medians


def report(results: list[RunResult], args: argparse.Namespace) -> None:
    offered = args.users * args.rate_per_user
    print(
        f"offered {offered:.0f} req/s ({args.users} users x {args.rate_per_user:g},"
        f" {args.arrivals} arrivals)"
        if offered
        else f"{args.users} users, closed loop"
    )
    system = SYSTEMS[args.system]
    print(
        f"system {args.system}: under load {', '.join(system.during)}"
        + (f"; started after it {', '.join(system.after)}" if system.after else "")
        + (f"; {args.run_events_per_s:g} run events/s" if system.run_events else "")
    )
    print(
        f"{'run':>4} {'req/s':>8} {'p50':>6} {'p95':>6} {'p99':>6} {'fail':>5} {'disp':>5}"
        f" {'events':>6}  cpu ms/req ({' '.join(CPU_SHARES)})"
        "  peak RSS MB (load path / all fakes)  load 1m"
    )
    for i, r in enumerate(results, 1):
        cpu = " ".join(f"{r.cpu_ms_per_request[n]:.2f}" for n in CPU_SHARES)
        rss = f"{r.rss_load_path_mb:.0f} / {r.rss_all_fakes_mb:.0f}"
        disp = "-" if r.dispersion is None else f"{r.dispersion:.2f}"
        print(
            f"{i:>4} {r.rps:>8.1f} {r.p50_ms:>6.0f} {r.p95_ms:>6.0f} {r.p99_ms:>6.0f}"
            f" {r.failures:>5} {disp:>5} {r.run_events:>6}  {cpu:<66}  {rss:<35}"
            f"  {r.load_before:.1f} -> {r.load_after:.1f}"
        )
    print("median:", json.dumps(median_of(results)))
    print(verdict(results))


def verdict(results: list[RunResult]) -> str:
    """How many runs met each target: on a shared machine one run proves little either way.
    A run with failed requests does not meet the speed target: fast errors are not throughput."""
    runs = len(results)
    speed = sum(
        r.rps >= TARGET_RPS and r.p95_ms < TARGET_P95_MS and r.failures == 0 for r in results
    )
    memory = sum(r.rss_all_fakes_mb <= TARGET_RSS_MB for r in results)
    return (
        f"target >= {TARGET_RPS} req/s at p95 < {TARGET_P95_MS} ms without failures:"
        f" met in {speed} of {runs}"
        f" runs; all fakes <= {TARGET_RSS_MB} MB: met in {memory} of {runs} runs"
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per run")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--spawn-rate", type=int, default=40)
    parser.add_argument(
        "--rate-per-user", type=float, default=8.1,
        help="requests/s per user (0 = closed loop, as fast as possible); the default offers"
        " 324 req/s: Locust's count takes in the users' start, and 20 s of Poisson arrivals"
        " vary by about 1 %%, so offering the target itself reads under it",
    )  # fmt: skip
    parser.add_argument(
        "--arrivals", choices=ARRIVALS, default="poisson",
        help="how each user spaces its requests: poisson (random gaps, independent users) or"
        " paced (Locust's constant_throughput: fixed periods, users fall into step)",
    )  # fmt: skip
    parser.add_argument(
        "--system", choices=SYSTEMS, default="whole",
        help="api: platform, core and edge under load, the other fakes started after it;"
        " whole: all eight fakes under load, run events streaming",
    )  # fmt: skip
    parser.add_argument(
        "--run-events-per-s", type=float, default=20.0,
        help="with --system whole: signed run events the platform sends per second",
    )  # fmt: skip
    parser.add_argument("--log-level", default="INFO", help="WRK_LOG_LEVEL of the fakes")
    parser.add_argument("--keep", action="store_true", help="keep logs and Locust CSVs")
    parser.add_argument("--json", type=Path, help="also write each run's figures to this file")
    return parser.parse_args(argv)


def unwind_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C: what the benchmark started is stopped, its folders removed.
    (A SIGKILL cannot unwind: the processes it started die with it, see die_with_parent_hook.)"""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    unwind_on_sigterm()
    out = Path(tempfile.mkdtemp(prefix="fakes-bench-"))
    try:
        results = measure(out, args)
        report(results, args)
        figures = json.dumps([asdict(r) for r in results], indent=2)
        (out / "results.json").write_text(figures)
        if args.json is not None:
            args.json.write_text(figures)
    finally:
        if args.keep:
            print(f"logs and CSVs: {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)
    return 0


def measure(out: Path, args: argparse.Namespace) -> list[RunResult]:
    pg = _postgres.start_postgres()
    try:
        redis = _redis.start_redis()
        try:
            results = []
            for run in range(1, args.runs + 1):
                run_dir = out / f"run{run}"
                run_dir.mkdir(parents=True)
                results.append(one_run(pg, redis, run_dir, args))
            return results
        finally:
            redis.stop()
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
