"""The ledger across real runs: a passing run, then the same scenario with one alert broken
on purpose; `wrkh report diff` names that alert and exits non-zero."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "wrk-platform-outage"
pytestmark = pytest.mark.integration


def wrkh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_scenario(reports: Path, suite: Path, want: int) -> str:
    proc = wrkh(
        "run", "--report-dir", str(reports), "--scenario", SCENARIO, "--scenarios", str(suite)
    )
    assert proc.returncode == want, f"{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    run_id: str = json.loads((reports / "latest" / "results.json").read_text())["run_id"]
    return run_id


def test_breaking_an_alert_is_a_regression_naming_it(tmp_path: Path) -> None:
    suite, reports = tmp_path / "scenarios", tmp_path / "reports"
    shutil.copytree(ROOT / "scenarios", suite)
    good = run_scenario(reports, suite, want=0)
    alerts = suite / "catalog" / "alerts.yaml"
    text = alerts.read_text()
    broken = text.replace("[{{window}}])) > 0.01", "[{{window}}])) > 0.5", 1)
    assert broken != text, "the ApiHigh5xxRate threshold moved; update this test"
    alerts.write_text(broken)
    bad = run_scenario(reports, suite, want=1)

    ledger = str(reports / "ledger.json")
    diff = wrkh("report", "diff", good, bad, "--ledger", ledger)
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert "alert_no_longer_fires" in diff.stdout and "ApiHigh5xxRate" in diff.stdout
    assert "WrkPlatformFailureRate" not in diff.stdout  # the other alert still works
    same = wrkh("report", "diff", good, good, "--ledger", ledger)
    assert same.returncode == 0, same.stdout + same.stderr
