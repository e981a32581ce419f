"""The run's results as one typed object, and `results.json` written from it.

Schema (version 1) is documented in reports/README.md; bump SCHEMA_VERSION on any change
that removes or renames a field.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.coverage import AlertCoverage, coverage_checks
from harness.load.runner import LoadResult
from harness.observe.series import CapturedSeries
from harness.runner import Phases, ScenarioResult
from harness.timescale import Timing
from harness.verdicts import Check

SCHEMA_VERSION = 1


def new_run_id() -> str:
    """Sortable and unique enough for two runs started in the same second on one machine."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"


@dataclass
class RunResult:
    run_id: str
    timing: Timing
    target: str
    started_at: float
    cold_start_s: float | None = None
    finished_at: float | None = None
    scenarios: list[ScenarioResult] = field(default_factory=list)
    coverage: list[AlertCoverage] = field(default_factory=list)
    coverage_gated: bool = False  # a full run: uncovered alerts fail it
    errors: list[str] = field(default_factory=list)  # failures outside any check

    @property
    def checks(self) -> list[Check]:
        gate = coverage_checks(self.coverage) if self.coverage_gated else []
        return [c for s in self.scenarios for c in s.checks] + gate

    @property
    def passed(self) -> bool:
        return not self.errors and bool(self.checks) and all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        checks = self.checks
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            "target": self.target,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "passed": self.passed,
            "time_scale": self.timing.time_scale,
            "timing": asdict(self.timing),
            "stack": {"cold_start_s": self.cold_start_s},
            "summary": {
                "checks": len(checks),
                "passed": sum(c.passed for c in checks),
                "failed": sum(not c.passed for c in checks),
            },
            "errors": list(self.errors),
            "scenarios": [_scenario_json(s) for s in self.scenarios],
            "coverage": {
                "gated": self.coverage_gated,
                "alerts": [{**asdict(c), "covered": c.covered} for c in self.coverage],
            },
            "checks": [asdict(c) for c in checks],
        }


def _scenario_json(s: ScenarioResult) -> dict[str, Any]:
    return {
        "name": s.scenario,
        "passed": s.passed,
        "phases": _phases_json(s.phases),
        "load": _load_json(s.load),
        "notes": s.notes,
        "series": [_series_json(c) for c in s.series],
    }


def _series_json(c: CapturedSeries) -> dict[str, Any]:
    return {
        **asdict(c.spec),
        "start": _iso(c.start),
        "end": _iso(c.end),
        "step_s": c.step_s,
        "error": c.error,
        "sets": [{"labels": p.labels, "points": [list(pt) for pt in p.points]} for p in c.sets],
    }


def _phases_json(p: Phases) -> dict[str, str | None]:
    return {k: _iso(v) for k, v in asdict(p).items()}


def _load_json(load: LoadResult | None) -> dict[str, Any] | None:
    if load is None:
        return None
    return {
        "routes": [asdict(r) for r in load.routes],
        "total": asdict(load.total) if load.total else None,
    }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def write_results(result: RunResult, reports_dir: Path) -> Path:
    """Write `<reports>/<run_id>/results.json` and mirror the run into `<reports>/latest/`."""
    run_dir = reports_dir / result.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "results.json"
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    latest = reports_dir / "latest"
    tmp = reports_dir / f".latest-{result.run_id}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(run_dir, tmp, ignore=shutil.ignore_patterns("stack"))
    shutil.rmtree(latest, ignore_errors=True)
    tmp.rename(latest)
    return path
