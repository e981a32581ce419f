"""Every benchmark in turn (`make bench`): about 23 minutes on a 2-core machine.

Each runs in its own process, one after the other, so none measures another's load; run it on a
quiet machine and read medians and ratios, not single figures. Extra arguments after `--` are
not supported: run a benchmark script by itself for other settings.

    .venv/bin/python benchmarks/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = (
    ("stack cold start", ["cold_start.py", "--runs", "3"]),
    ("core CPU per route", ["fakes_route_cost.py"]),
    ("fakes throughput, latency and memory", ["fakes_throughput.py", "--runs", "3"]),
    ("the same load through a serving skeleton", ["serving_floor.py", "--runs", "3"]),
    ("conformance suite: wall time, time to firing, stable verdicts", ["suite.py", "--runs", "2"]),
)


def main() -> int:
    failed = []
    for title, (script, *args) in BENCHMARKS:
        print(f"\n== {title}: {script} {' '.join(args)}", flush=True)
        began = time.monotonic()
        code = subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode
        print(f"== {script}: exit {code} after {time.monotonic() - began:.0f} s", flush=True)
        if code != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
