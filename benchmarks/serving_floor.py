"""The floor under the fakes' throughput: the same load through a serving skeleton.

Runs the mixed load of fakes_throughput.py (same locustfile, users and rate) against two uvicorn
processes with the fakes' settings (uvloop, httptools) that do no work at all (see
serving_floor_apps.py): an edge forwarding with the edge's client (httpx) to a core answering
one fixed body. No database, logs, spans or metrics. What the machine spends per request here is
spent by Locust, the kernel and two Python HTTP hops, and no fake can spend less.

    .venv/bin/python benchmarks/serving_floor.py --runs 3 --duration 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fakes_throughput import (  # noqa: E402
    aggregated,
    children_cpu_s,
    cpu_s,
    machine_busy_s,
    parse_args,
    run_locust,
    unwind_on_sigterm,
)
from harness.stack.process import die_with_parent_hook  # noqa: E402
from tests.fakes._processes import free_port, scratch_folder  # noqa: E402

SHARES = ("core", "edge", "locust", "machine")


def start(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", f"benchmarks.serving_floor_apps:{app}",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    # Its own process group, and killed with this process however that ends.
    return subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True,
        preexec_fn=die_with_parent_hook(),  # noqa: PLW1509 (the hook only calls prctl)
    )  # fmt: skip


def wait_listening(port: int, deadline_s: float = 15.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {deadline_s} s")


def snapshot(procs: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    values = {name: cpu_s(proc.pid) for name, proc in procs.items()}
    values["locust"] = children_cpu_s()
    values["machine"] = machine_busy_s()
    return values


@dataclass(frozen=True)
class FloorRun:
    rps: float
    p50_ms: float
    p95_ms: float
    failures: int
    cpu_ms_per_request: dict[str, float]

    def line(self, number: int) -> str:
        cpu = " ".join(f"{self.cpu_ms_per_request[name]:.2f}" for name in SHARES)
        head = f"{number:>4} {self.rps:>8.1f} {self.p50_ms:>6.0f} {self.p95_ms:>6.0f}"
        return f"{head} {self.failures:>5}  {cpu}"


def one_run(out: Path, args: argparse.Namespace) -> FloorRun:
    core_port, edge_port = free_port(), free_port()
    env = {**os.environ, "FLOOR_CORE_URL": f"http://127.0.0.1:{core_port}"}
    procs = {"core": start("core", core_port, env), "edge": start("edge", edge_port, env)}
    try:
        wait_listening(core_port)
        wait_listening(edge_port)
        before = snapshot(procs)
        row = aggregated(run_locust(f"http://127.0.0.1:{edge_port}", out, args))
        after = snapshot(procs)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=10)
    requests = max(1, int(row["Request Count"]))
    return FloorRun(
        rps=float(row["Requests/s"]),
        p50_ms=float(row["50%"]),
        p95_ms=float(row["95%"]),
        failures=int(row["Failure Count"]),
        cpu_ms_per_request={
            name: (after[name] - before[name]) * 1000 / requests for name in SHARES
        },
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    unwind_on_sigterm()
    results = []
    # Leased: if this process is killed outright, a later benchmark or test run sweeps it.
    scratch = scratch_folder("floor")
    try:
        for run in range(args.runs):
            out = scratch / f"run{run}"
            out.mkdir()
            results.append(one_run(out, args))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'run':>4} {'req/s':>8} {'p50':>6} {'p95':>6} {'fail':>5}  cpu ms/req", *SHARES)
    for number, result in enumerate(results, 1):
        print(result.line(number))
    medians = {
        "rps": statistics.median(r.rps for r in results),
        "p95_ms": statistics.median(r.p95_ms for r in results),
        **{
            name: round(statistics.median(r.cpu_ms_per_request[name] for r in results), 3)
            for name in SHARES
        },
    }
    print("median:", json.dumps(medians))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
