"""Benchmark: stack cold start, from LocalStack.start() to every service ready, and on to
Prometheus' first scrape of every service.

Starts and stops the embedded stack N times (default 3) and prints each run's cold start (as
`wrkh run` counts it: every service answers; the first scrape is awaited during the
preflight), the time until every service was scraped too, the medians, and the median time
each service took from spawn to ready.

    .venv/bin/python benchmarks/cold_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from harness.spec.catalog import load_catalog
from harness.spec.rules import render_alertmanager_config, render_rules
from harness.stack.local import LocalStack, LocalStackConfig

ROOT = Path(__file__).resolve().parents[1]


def _once(base: Path) -> tuple[float, float, dict[str, float]]:
    catalog = load_catalog(ROOT / "scenarios" / "catalog")
    timing = catalog.timing(60.0)
    base.mkdir(parents=True)
    rules, am = base / "rules.yml", base / "alertmanager.yml"
    rules.write_text(render_rules(catalog, timing))
    am.write_text(render_alertmanager_config(catalog, "http://127.0.0.1:9", timing))
    config = LocalStackConfig(
        base_dir=base, timing=timing, alertmanager_config=am, rules_file=rules,
        scraped_at_start=False,
    )  # fmt: skip
    with LocalStack(config) as stack:
        cold = stack.target.cold_start_s or 0.0
        scraped = cold + stack.await_scraped()
        return cold, scraped, dict(stack.startup_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    colds: list[float] = []
    scrapes: list[float] = []
    per_service: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="wrkh-cold-") as tmp:
        for i in range(args.runs):
            cold, scraped, services = _once(Path(tmp) / f"run{i}")
            colds.append(cold)
            scrapes.append(scraped)
            for name, took in services.items():
                per_service.setdefault(name, []).append(took)
            print(f"run {i + 1}/{args.runs}: cold start {cold:.2f} s, scraped at {scraped:.2f} s")
    print(f"median cold start: {statistics.median(colds):.2f} s  (runs: {colds})")
    print(f"median until every service was scraped: {statistics.median(scrapes):.2f} s")
    for name, values in sorted(per_service.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {name:<28} {statistics.median(values):6.2f} s from spawn to ready (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
