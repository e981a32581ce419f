"""The conformance slice end to end: real stack, real load, real fault, real alert.

Each test runs `wrkh run` as a user would, in a subprocess, and reads results.json.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ._procs import alive, descendants

ROOT = Path(__file__).resolve().parents[2]
WRKH = [sys.executable, "-m", "harness.cli"]
pytestmark = pytest.mark.integration


def _wrkh(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WRKH, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _results(report_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report_dir / "latest" / "results.json").read_text())
    return data


def _check(results: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in results["checks"] if c["kind"] == kind)


def test_platform_outage_fires_delivers_resolves_and_baseline_is_quiet(tmp_path: Path) -> None:
    proc = _wrkh("run", "--report-dir", str(tmp_path), "--scenario", "wrk-platform-outage")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = _results(tmp_path)
    assert results["passed"] is True
    assert results["stack"]["cold_start_s"] > 0
    fires = _check(results, "alert_fires")
    assert fires["alert"] == "ApiHigh5xxRate"
    assert fires["floor_s"] <= fires["time_to_firing_s"] <= fires["budget_s"]
    assert fires["time_to_pending_s"] <= fires["time_to_firing_s"]
    assert _check(results, "alert_delivered")["time_to_notification_s"] <= fires["budget_s"]
    assert _check(results, "alert_resolves")["time_to_resolved_s"] is not None
    assert _check(results, "baseline_quiet")["passed"] is True


def test_without_the_fault_the_fires_check_fails_and_says_why(tmp_path: Path) -> None:
    proc = _wrkh(
        "run", "--report-dir", str(tmp_path), "--scenario", "wrk-platform-outage",
        "--without-faults",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    fires = _check(_results(tmp_path), "alert_fires")
    assert fires["passed"] is False
    assert fires["time_to_firing_s"] is None
    assert "expected ApiHigh5xxRate firing within" in fires["message"]
    assert "never went pending" in fires["message"]
    assert "alert_fires" in proc.stdout  # the one-screen summary names the failed check


def test_malformed_scenarios_are_rejected_before_anything_starts(tmp_path: Path) -> None:
    suite = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", suite / "catalog")
    good = (ROOT / "scenarios" / "platform_outage.yaml").read_text()
    bad_duration = good.replace("name: wrk-platform-outage", "name: bad-one")
    bad_duration = bad_duration.replace("baseline: 5m", "baseline: 5x")
    bad_alert = good.replace("name: wrk-platform-outage", "name: bad-two")
    bad_alert = bad_alert.replace("fires: [ApiHigh5xxRate,", "fires: [NoSuchAlert,")
    assert good not in (bad_duration, bad_alert), "the scenario changed; update this test"
    (suite / "a_bad_duration.yaml").write_text(bad_duration)
    (suite / "b_unknown_alert.yaml").write_text(bad_alert)
    reports = tmp_path / "reports"
    proc = _wrkh("run", "--scenarios", str(suite), "--report-dir", str(reports), timeout=60)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "a_bad_duration.yaml" in out and "phases.baseline" in out
    assert "b_unknown_alert.yaml" in out and "NoSuchAlert" in out
    assert not reports.exists() or not any(reports.iterdir())  # no run started


def test_sigterm_mid_fault_leaves_no_process_and_rolls_the_fault_back(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*WRKH, "run", "--report-dir", str(tmp_path), "--scenario", "wrk-platform-outage"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    seen: set[int] = set()
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        seen |= descendants(proc.pid)
        if "fault platform-down" in line or not line:
            break
    assert any("fault platform-down" in ln for ln in lines), "".join(lines)
    seen |= descendants(proc.pid)
    os.kill(proc.pid, signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    output = "".join(lines) + rest
    assert proc.returncode != 0
    assert "rolled back" in output, output[-3000:]
    assert len(seen) >= 6  # the stack really ran: postgres, redis, toxiproxy, fakes, ...
    assert alive(seen) == set(), f"left running: {alive(seen)}"
