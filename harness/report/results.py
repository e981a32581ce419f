"""The run's results as one typed object, and `results.json` written from it.

Schema (version 1) is documented in reports/README.md; bump SCHEMA_VERSION on any change
that removes or renames a field.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from harness.checks.coverage import AlertCoverage, coverage_checks
from harness.checks.results import Check, PhaseTimes, ScenarioResult
from harness.checks.secrets import Masker
from harness.errors import ReportError
from harness.load.runner import LoadResult
from harness.observe.series import CapturedSeries
from harness.report.forms import (
    HTML_FILE,
    JUNIT_FILE,
    record_in_ledger,
    write_atomic,
    write_html,
    write_junit,
)
from harness.report.output import LATEST, STACK_DIR, point_latest
from harness.report.revision import Revision
from harness.spec.timescale import Timing

SCHEMA_VERSION = 1
# A run id names a folder beside `latest/` and `ledger.json`.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
RESERVED_NAMES = frozenset({"latest", "stability", "ledger.json", "README.md"})
log = logging.getLogger("harness.report")
T = TypeVar("T")


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
    revision: Revision | None = None  # the code and conditions that produced it

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
            "revision": asdict(self.revision) if self.revision else None,
            "stack": {"cold_start_s": self.cold_start_s},
            "summary": {
                "checks": len(checks),
                "passed": sum(c.passed for c in checks),
                "failed": sum(not c.passed for c in checks),
                "warnings": sum(len(c.warnings) for c in checks),
            },
            "errors": list(self.errors),
            "scenarios": [scenario_json(s) for s in self.scenarios],
            "coverage": {
                "gated": self.coverage_gated,
                "alerts": [{**asdict(c), "covered": c.covered} for c in self.coverage],
            },
            "checks": [check_json(c) for c in checks],
        }


def summary_lines(
    result: RunResult, results_path: Path | None, report_error: str | None = None
) -> list[str]:
    """The one-screen console summary: verdict, every check with its warnings, run errors, and
    where the reports are (or why they are not)."""
    checks = result.checks
    failed = [c for c in checks if not c.passed]
    warned = sum(len(c.warnings) for c in checks)
    passed = result.passed and report_error is None
    lines = [
        f"WRK conformance {'PASSED' if passed else 'FAILED'}: "
        f"{len(checks) - len(failed)}/{len(checks)} checks passed"
        + (f", {warned} warning(s)" if warned else "")
        + f" (run {result.run_id}, time scale {result.timing.time_scale:g}, "
        f"stack cold start {result.cold_start_s or 0:.1f} s)",
    ]
    for c in checks:
        lines.append(f"  {'ok  ' if c.passed else 'FAIL'} {c.kind:<16} {c.message}")
        lines += [f"  WARN {w.kind:<16} {w.message}" for w in c.warnings]
    lines += [f"  ERROR {e}" for e in result.errors]
    if report_error is not None:
        lines.append(f"  ERROR reports not written: {report_error}")
    if results_path is not None:
        folder = results_path.parent
        lines.append(f"results: {results_path}")
        lines.append(f"report:  {folder / HTML_FILE} (also {JUNIT_FILE}, allure-results/)")
    return lines


def check_json(c: Check) -> dict[str, Any]:
    """A check as results.json holds it: a warning's start as an ISO time, like the phases."""
    return {**asdict(c), "warnings": [{**asdict(w), "at": _iso(w.at)} for w in c.warnings]}


def scenario_json(s: ScenarioResult) -> dict[str, Any]:
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


def _phases_json(p: PhaseTimes) -> dict[str, str | None]:
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


def write_results(result: RunResult, reports_dir: Path, masker: Masker | None = None) -> Path:
    """Write every report form of the run into `<reports>/<run_id>/`, then show it as
    `<reports>/latest/`; every text goes through `masker` (the run's secrets) first.

    results.json comes first and is the only form whose failure is raised (as ReportError,
    `latest` then showing the run folder as it is): the ledger entry, junit.xml and
    report.html are derived from it, and a failure in one of them, in masking the files the
    run folder holds besides the target's own output (Locust's, Allure's) or in showing it as
    `latest`, is recorded in the run's errors (results.json is then written again with it).
    """
    masker = masker or Masker()
    run_dir = reports_dir / result.run_id
    path = run_dir / "results.json"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        data = _write_json(path, result, masker)
    except OSError as exc:
        _show_anyway(reports_dir, run_dir)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
    failures = _derived_forms(reports_dir, run_dir, data)
    _guarded("masking", lambda: masker.tree(run_dir, skip=[STACK_DIR]), failures)
    _record(failures, result, path, masker)
    shown: list[str] = []
    _guarded(LATEST, lambda: point_latest(reports_dir, run_dir), shown)
    _record(shown, result, path, masker)  # `latest` is a link to the run folder then
    return path


def _record(failures: list[str], result: RunResult, path: Path, masker: Masker) -> None:
    if failures:
        result.errors.extend(failures)
        _guarded("results.json", lambda: _write_json(path, result, masker), [])


def _write_json(path: Path, result: RunResult, masker: Masker) -> dict[str, Any]:
    data = masker.data(result.to_json())
    write_atomic(path, json.dumps(data, indent=2) + "\n")
    return data


def _show_anyway(reports_dir: Path, run_dir: Path) -> None:
    """`latest` shows the run even when its results could not be written (never an older run)."""
    try:
        point_latest(reports_dir, run_dir)
    except ReportError as exc:
        log.error("%s", exc)


def _derived_forms(reports_dir: Path, run_dir: Path, data: dict[str, Any]) -> list[str]:
    """Ledger, JUnit and HTML; returns what failed instead of raising."""
    failures: list[str] = []
    recorded = _guarded("ledger", lambda: record_in_ledger(reports_dir, data), failures)
    _guarded(JUNIT_FILE, lambda: write_junit(run_dir, data), failures)
    _guarded(HTML_FILE, lambda: write_html(run_dir, data, recorded), failures)
    return failures


def _guarded(name: str, step: Callable[[], T], failures: list[str]) -> T | None:
    try:
        return step()
    except (ReportError, OSError) as exc:  # a stated reason: one line says it all
        reason = str(exc) if isinstance(exc, ReportError) else (exc.strerror or str(exc))
        log.error("report form %s failed: %s", name, reason)
        failures.append(f"report form {name} failed: {reason}")
    except Exception as exc:  # a report bug must not lose the verdicts already written
        log.exception("report form %s failed", name)
        failures.append(f"report form {name} failed: {type(exc).__name__}: {exc}")
    return None
