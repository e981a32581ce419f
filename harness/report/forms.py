"""The report forms derived from results.json: JUnit XML, the HTML page, the ledger entry.

Each writer takes the run's JSON document (what results.json holds), so every form can be
rebuilt from a results.json alone. Files are written whole or not at all (temporary file,
then rename), so a failing writer never leaves half a report behind.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.report.diff import against_previous, record_run
from harness.report.html import RegressionView, render_html
from harness.report.junit import render_junit
from harness.report.ledger import Ledger, Regression, load_ledger, read_results
from harness.report.model import RunView

JUNIT_FILE = "junit.xml"
HTML_FILE = "report.html"


def write_junit(run_dir: Path, data: dict[str, Any]) -> Path:
    return write_atomic(run_dir / JUNIT_FILE, render_junit(RunView.from_json(data)))


def write_html(
    run_dir: Path, data: dict[str, Any], regressions: Sequence[RegressionView] | None
) -> Path:
    return write_atomic(run_dir / HTML_FILE, render_html(RunView.from_json(data), regressions))


def record_in_ledger(reports_dir: Path, data: dict[str, Any]) -> Sequence[RegressionView] | None:
    """Append the run to the alert-coverage ledger; its regressions against the previous
    comparable run, or None when there is no such run to compare with."""
    return record_run(reports_dir, data)


def rebuild_html(run_dir: Path, ledger_path: Path) -> Path:
    """report.html again from a run folder's results.json (`wrkh report html`), with the
    regressions against the previous comparable run when the ledger holds this run."""
    data = read_results(run_dir)
    regressions = None
    if ledger_path.is_file():
        regressions = _regressions_of(load_ledger(ledger_path), str(data.get("run_id")))
    return write_html(run_dir if run_dir.is_dir() else run_dir.parent, data, regressions)


def _regressions_of(ledger: Ledger, run_id: str) -> list[Regression] | None:
    run = next((r for r in ledger.runs if r.run_id == run_id), None)
    return against_previous(ledger, run) if run is not None else None  # None: nothing to compare


def write_atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
