"""Benchmark of the conformance suite: wall times, cold start, alert timing, verdict stability.

A thin wrapper over `wrkh stability`: runs the suite N times (default 3), each a whole
`wrkh run` as `make run` does, into a temporary report folder, and prints the figures of the
stability report (stability.json): medians of the total wall time, the stack's cold start and
every alert's time to firing beyond its floor (the scaled `for`), each scenario's wall time,
and whether every check's verdict was the same in every run. Medians are reported because
these machines are shared and noisy.

    .venv/bin/python benchmarks/suite.py [--runs 3] [-- extra wrkh run args]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.cli import main as wrkh


def figures_lines(report: dict[str, Any]) -> list[str]:
    """What the benchmark prints, from a stability.json document."""
    figures = report["figures"]

    def row(what: str, spread: dict[str, float] | None) -> str:
        if spread is None:
            return f"{what:<60} {'n/a':>7}"
        return (
            f"{what:<60} {spread['median']:7.2f}  "
            f"(min {spread['min']:.2f}, max {spread['max']:.2f}, {spread['count']} run(s))"
        )

    lines = [f"{'measure':<60} {'median':>7}"]
    lines.append(row("total wall time of `wrkh run` (s)", figures["wall_s"]))
    lines.append(row("stack cold start to all-ready (s)", figures["cold_start_s"]))
    lines.append(row("time-to-firing minus floor, all alerts (s)", figures["over_floor_s"]))
    for name, spread in figures["scenario_wall_s"].items():
        lines.append(row(f"scenario {name} wall (s)", spread))
    ran = sum(r["verdict"] != "could not run" for r in report["runs"])
    lines.append(
        f"verdicts identical across {ran} of {report['runs_requested']} run(s): "
        f"{report['stable']} (flaky: {', '.join(report['flaky']) or 'none'})"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="arguments passed to `wrkh run`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wrkh-bench-") as tmp:
        code = wrkh(["stability", "--runs", str(args.runs), "--report-dir", tmp, *args.extra])
        found = sorted(Path(tmp).glob("stability/*/stability.json"))
        if not found:
            return code  # refused before any run; wrkh said why
        report = json.loads(found[-1].read_text())
    print()
    for line in figures_lines(report):
        print(line)
    return 0 if report["stable"] else 1


if __name__ == "__main__":
    sys.exit(main())
