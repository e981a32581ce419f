"""The report forms derived from results.json: JUnit XML, the HTML page, the ledger entry.

Each writer takes the run's JSON document (what results.json holds), so every form can be
rebuilt from a results.json alone. Files are written whole or not at all (temporary file,
then rename), so a failing writer never leaves half a report behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.report.diff import Recorded, against_previous, record_run
from harness.report.html import render_html
from harness.report.junit import render_junit
from harness.report.ledger import Ledger, load_ledger, read_results
from harness.report.model import RunView

JUNIT_FILE = "junit.xml"
HTML_FILE = "report.html"


def write_junit(run_dir: Path, data: dict[str, Any]) -> Path:
    return write_atomic(run_dir / JUNIT_FILE, render_junit(RunView.from_json(data)))


def write_html(run_dir: Path, data: dict[str, Any], recorded: Recorded | None) -> Path:
    """report.html; `recorded` None: the ledger could not be read (no regressions shown)."""
    regressions = recorded.regressions if recorded is not None else None
    flaky = recorded.flaky if recorded is not None else ()
    page = render_html(RunView.from_json(data), regressions, flaky)
    return write_atomic(run_dir / HTML_FILE, page)


def record_in_ledger(reports_dir: Path, data: dict[str, Any]) -> Recorded:
    """Append the run to the alert-coverage ledger: its regressions against the previous
    comparable run (None when there is none) and its checks flaky on its revision."""
    return record_run(reports_dir, data)


def rebuild_html(run_dir: Path, ledger_path: Path) -> Path:
    """report.html again from a run folder's results.json (`wrkh report html`), with the
    regressions against the previous comparable run when the ledger holds this run."""
    data = read_results(run_dir)
    recorded = None
    if ledger_path.is_file():
        recorded = _recorded(load_ledger(ledger_path), str(data.get("run_id")))
    return write_html(run_dir if run_dir.is_dir() else run_dir.parent, data, recorded)


def _recorded(ledger: Ledger, run_id: str) -> Recorded | None:
    run = next((r for r in ledger.runs if r.run_id == run_id), None)
    return Recorded(against_previous(ledger, run), run.flaky) if run is not None else None


def write_atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
