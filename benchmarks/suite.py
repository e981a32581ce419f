"""Benchmark of the conformance suite: wall times, cold start, alert timing, verdict stability.

Runs `wrkh run` N times in a row (default 3) exactly as `make run` does and prints, from each
run's results.json: stack cold start, per-scenario and total wall time, every alert's
time-to-firing minus its floor, and whether the verdicts were identical across runs.
Medians are reported because these machines are shared and noisy.

    .venv/bin/python benchmarks/suite.py [--runs 3] [-- extra wrkh run args]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _run_once(report_dir: Path, extra: list[str]) -> tuple[float, dict[str, Any]]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--report-dir", str(report_dir), *extra],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - start
    path = report_dir / "latest" / "results.json"
    if not path.exists():
        sys.exit(f"run wrote no results (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
    return wall, json.loads(path.read_text())


def _seconds(a: str | None, b: str | None) -> float | None:
    if a is None or b is None:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def _verdicts(results: dict[str, Any]) -> dict[str, bool]:
    return {c["id"]: c["passed"] for c in results["checks"]}


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f}" if values else "    n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="arguments passed to `wrkh run`")
    args = parser.parse_args()
    walls: list[float] = []
    cold: list[float] = []
    per_scenario: dict[str, list[float]] = {}
    over_floor: dict[str, list[float]] = {}
    verdicts: list[dict[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="wrkh-bench-") as tmp:
        for i in range(args.runs):
            wall, results = _run_once(Path(tmp) / f"run{i}", args.extra)
            walls.append(wall)
            cold.append(results["stack"]["cold_start_s"] or 0.0)
            verdicts.append(_verdicts(results))
            for s in results["scenarios"]:
                took = _seconds(s["phases"]["load_start"], s["phases"]["end"])
                per_scenario.setdefault(s["name"], []).append(took or 0.0)
            for c in results["checks"]:
                if c["kind"] == "alert_fires" and c["time_to_firing_s"] is not None:
                    key = f"{c['scenario']}/{c['alert']}"
                    over_floor.setdefault(key, []).append(c["time_to_firing_s"] - c["floor_s"])
            print(f"run {i + 1}/{args.runs}: {wall:.1f} s, passed={results['passed']}")
    print(f"\n{'measure':<60} {'median':>7}  (all runs)")
    print(f"{'total wall time of `wrkh run` (s)':<60} {_median(walls)}  {walls}")
    print(f"{'stack cold start to all-ready (s)':<60} {_median(cold)}  {cold}")
    for name, values in per_scenario.items():
        print(f"{'scenario ' + name + ' wall (s)':<60} {_median(values)}")
    all_over = [v for values in over_floor.values() for v in values]
    for key, values in over_floor.items():
        print(f"{'time-to-firing minus floor ' + key + ' (s)':<60} {_median(values)}")
    print(f"{'time-to-firing minus floor, all alerts (s)':<60} {_median(all_over)}")
    stable = all(v == verdicts[0] for v in verdicts)
    print(f"verdicts identical across {args.runs} runs: {stable}")
    return 0 if stable else 1


if __name__ == "__main__":
    sys.exit(main())
