"""The stability report: the same suite run N times, each check's verdicts side by side.

Built from each run's results.json (`RunView`) and how the run went (exit code, wall time).
A check is flaky when its verdict was not the same in every run that could run, including
when it ran in some runs and not in others; the suite is stable when every run could run and
no check is flaky. Written as stability.json (schema below, in reports/README.md) and
stability.html beside it; `benchmarks/suite.py` prints its figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.report.model import CheckView, RunView

SCHEMA_VERSION = 1
STABILITY_JSON = "stability.json"
STABILITY_HTML = "stability.html"


@dataclass(frozen=True)
class Spread:
    """min / median / max of one measure over the runs (None when never measured)."""

    min: float
    median: float
    max: float
    count: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Spread | None:
        seen = sorted(round(v, 3) for v in values if v is not None)
        if not seen:
            return None
        return cls(seen[0], round(statistics.median(seen), 3), seen[-1], len(seen))


@dataclass(frozen=True)
class RunOutcome:
    """One `wrkh run` of the series: how it ended, and its results when it wrote them."""

    index: int  # 1-based
    run_id: str
    exit_code: int
    wall_s: float
    log: Path
    results: RunView | None = None

    @property
    def ran(self) -> bool:
        return self.results is not None

    @property
    def verdict(self) -> str:
        if self.results is None:
            return "could not run"
        return "PASSED" if self.results.passed else "FAILED"


@dataclass(frozen=True)
class CheckStability:
    id: str
    kind: str
    scenario: str
    passes: int
    ran_in: int  # runs that had this check
    runs: int  # runs that could run
    time_to_firing_s: Spread | None = None  # alert_fires checks
    over_floor_s: Spread | None = None  # time to firing minus the scaled `for`

    @property
    def flaky(self) -> bool:
        return self.ran_in != self.runs or 0 < self.passes < self.runs


@dataclass
class StabilityReport:
    stability_id: str
    runs_requested: int
    command: list[str]  # the `wrkh run` arguments every run got (--fake-env values masked)
    outcomes: list[RunOutcome] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ran(self) -> list[RunView]:
        return [o.results for o in self.outcomes if o.results is not None]

    @property
    def checks(self) -> list[CheckStability]:
        return check_stability(self.ran)

    @property
    def flaky(self) -> list[CheckStability]:
        return [c for c in self.checks if c.flaky]

    @property
    def stable(self) -> bool:
        """Every requested run ran and no check's verdict differed between them."""
        complete = len(self.ran) == self.runs_requested and not self.interrupted
        return complete and not self.flaky

    @property
    def all_passed(self) -> bool:
        return self.stable and all(r.passed for r in self.ran)

    @property
    def exit_code(self) -> int:
        """0: stable and every run passed; 1: stable, the same checks failed every time;
        3: a verdict differed between runs, or a run could not run."""
        if not self.stable:
            return 3
        return 0 if self.all_passed else 1

    def figures(self) -> dict[str, Any]:
        """The measures benchmarks/suite.py prints: spreads over the runs that ran."""
        ran = self.ran
        scenarios: dict[str, list[float | None]] = {}
        for run in ran:
            for s in run.scenarios:
                scenarios.setdefault(s.name, []).append(s.phases.duration_s)
        over = [c.measured_over_floor for r in ran for c in r.firing_checks]
        return {
            "wall_s": _spread_json(Spread.of(o.wall_s for o in self.outcomes if o.ran)),
            "cold_start_s": _spread_json(Spread.of(r.stack.cold_start_s for r in ran)),
            "over_floor_s": _spread_json(Spread.of(over)),
            "scenario_wall_s": {k: _spread_json(Spread.of(v)) for k, v in scenarios.items()},
        }

    def to_json(self) -> dict[str, Any]:
        checks = self.checks
        return {
            "schema_version": SCHEMA_VERSION,
            "stability_id": self.stability_id,
            "command": self.command,
            "runs_requested": self.runs_requested,
            "interrupted": self.interrupted,
            "stable": self.stable,
            "all_passed": self.all_passed,
            "runs": [_outcome_json(o) for o in self.outcomes],
            "figures": self.figures(),
            "flaky": [c.id for c in checks if c.flaky],
            "checks": [{**asdict(c), "flaky": c.flaky} for c in checks],
        }


def check_stability(runs: Sequence[RunView]) -> list[CheckStability]:
    """Per check id, in the order of the first run that had it: passes, spread of timings."""
    by_id: dict[str, list[CheckView]] = {}
    for run in runs:
        for check in run.checks:
            by_id.setdefault(check.id, []).append(check)
    out = []
    for check_id, seen in by_id.items():
        fires = seen[0].kind == "alert_fires"
        out.append(
            CheckStability(
                id=check_id,
                kind=seen[0].kind,
                scenario=seen[0].scenario,
                passes=sum(c.passed for c in seen),
                ran_in=len(seen),
                runs=len(runs),
                time_to_firing_s=Spread.of(c.time_to_firing_s for c in seen) if fires else None,
                over_floor_s=Spread.of(c.measured_over_floor for c in seen) if fires else None,
            )
        )
    return out


def summary_lines(report: StabilityReport, html: Path | None) -> list[str]:
    """The console summary printed after the per-run lines."""
    ran = report.ran
    word = "STABLE" if report.stable else "UNSTABLE"
    passed = sum(r.passed for r in ran)
    checks = report.checks
    lines = [
        f"stability {word}: {len(ran)} of {report.runs_requested} run(s) ran, {passed} passed; "
        f"{len(checks) - len(report.flaky)} of {len(checks)} check(s) with the same verdict "
        "in every run" + (" (interrupted)" if report.interrupted else "")
    ]
    f = report.figures()
    lines.append(
        f"  wall time {_words(f['wall_s'])}; stack cold start {_words(f['cold_start_s'])}; "
        f"time to firing over floor {_words(f['over_floor_s'])}"
    )
    for c in report.flaky:
        lines.append(f"  FLAKY {c.id}: passed {c.passes} of {c.runs} run(s)" + _absent(c))
    for o in report.outcomes:
        if not o.ran:
            lines.append(f"  COULD NOT RUN run {o.index} ({o.run_id}): exit {o.exit_code}, {o.log}")
    failing = [c for c in checks if not c.flaky and c.passes == 0]
    lines += [f"  FAILED IN EVERY RUN {c.id}" for c in failing]
    if html is not None:
        lines.append(f"report: {html} (also {STABILITY_JSON})")
    return lines


def outcome_line(o: RunOutcome, total: int) -> str:
    r = o.results
    counts = f"{r.summary.passed}/{r.summary.checks} checks" if r is not None else "no results"
    return f"run {o.index}/{total}  {o.run_id}  {o.verdict:<13} {counts:<16} {o.wall_s:7.1f} s"


def _outcome_json(o: RunOutcome) -> dict[str, Any]:
    r = o.results
    return {
        "index": o.index,
        "run_id": o.run_id,
        "exit_code": o.exit_code,
        "verdict": o.verdict,
        "wall_s": round(o.wall_s, 3),
        "log": str(o.log),
        "started_at": _iso(r.started_at) if r is not None else None,
        "checks": r.summary.checks if r is not None else None,
        "failed": r.summary.failed if r is not None else None,
        "cold_start_s": r.stack.cold_start_s if r is not None else None,
    }


def _spread_json(spread: Spread | None) -> dict[str, float] | None:
    return asdict(spread) if spread is not None else None


def _words(spread: dict[str, float] | None) -> str:
    if spread is None:
        return "n/a"
    return f"median {spread['median']:.2f} s (min {spread['min']:.2f}, max {spread['max']:.2f})"


def _absent(c: CheckStability) -> str:
    return f", absent from {c.runs - c.ran_in}" if c.ran_in != c.runs else ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
