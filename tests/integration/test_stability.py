"""`wrkh stability` on the real suite: two whole runs of one scenario, as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_two_runs_of_a_scenario_give_a_stability_report_and_ledger_entries(
    tmp_path: Path,
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "stability", "--runs", "2",
         "--scenario", "churn-risk-escalation", "--report-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    lines = out.splitlines()
    assert lines[0].startswith("run 1/2  ") and " PASSED " in lines[0]
    assert lines[1].startswith("run 2/2  ") and " PASSED " in lines[1]
    assert lines[2].startswith("stability STABLE: 2 of 2 run(s) ran, 2 passed")
    (folder,) = (tmp_path / "stability").iterdir()
    report = json.loads((folder / "stability.json").read_text())
    assert report["stable"] and report["all_passed"] and report["flaky"] == []
    fires = next(c for c in report["checks"] if c["kind"] == "alert_fires")
    assert fires["passes"] == 2 and fires["time_to_firing_s"]["count"] == 2
    assert report["figures"]["cold_start_s"]["median"] > 0
    assert (folder / "stability.html").is_file()
    run_ids = [r["run_id"] for r in report["runs"]]
    for run_id in run_ids:
        assert (tmp_path / run_id / "report.html").is_file()
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    runs = [r for r in ledger["runs"] if r["run_id"] in run_ids]
    assert len(runs) == 2 and runs[0]["revision"] == runs[1]["revision"]
    assert all(r["flaky"] == [] for r in runs)
