"""The conformance slice end to end: real stack, real load, real fault, real alert; and the
ledger across real runs: the same scenario with one alert broken on purpose is a regression
naming that alert.

Each test runs `wrkh` as a user would, in a subprocess, and reads results.json.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ._procs import alive, descendants
from ._wrkh import ROOT, WRKH, Run, copy_catalog, raise_threshold, run, wrkh

SCENARIO = "wrk-platform-outage"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report folder, so one ledger, for the passing run and the broken one."""
    return tmp_path_factory.mktemp("reports")


def _suite(root: Path) -> Path:
    suite = root / "scenarios"
    shutil.copytree(ROOT / "scenarios", suite)
    return suite


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory, reports: Path) -> Run:
    suite = _suite(tmp_path_factory.mktemp("good"))
    return run(reports, "--scenario", SCENARIO, "--scenarios", str(suite), want=0)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, reports: Path, passing: Run) -> Run:
    """The same scenario after the passing run, ApiHigh5xxRate's threshold raised to 50%."""
    suite = _suite(tmp_path_factory.mktemp("broken"))
    raise_threshold(suite)
    return run(reports, "--scenario", SCENARIO, "--scenarios", str(suite), want=1)


def test_platform_outage_fires_delivers_resolves_and_baseline_is_quiet(passing: Run) -> None:
    assert passing.results["passed"] is True
    assert passing.results["stack"]["cold_start_s"] > 0
    fires = passing.checks("alert_fires")[0]
    assert fires["alert"] == "ApiHigh5xxRate"
    assert fires["floor_s"] <= fires["time_to_firing_s"] <= fires["budget_s"]
    assert fires["time_to_pending_s"] <= fires["time_to_firing_s"]
    assert passing.checks("alert_delivered")[0]["time_to_notification_s"] <= fires["budget_s"]
    assert passing.checks("alert_resolves")[0]["time_to_resolved_s"] is not None
    assert passing.checks("baseline_quiet")[0]["passed"] is True


def test_a_raised_alert_threshold_means_the_alert_never_fires(broken: Run) -> None:
    fires = broken.failed()["alert_fires"]
    assert "expected ApiHigh5xxRate firing within" in fires and "never" in fires


def test_breaking_an_alert_is_a_regression_naming_it(
    reports: Path, passing: Run, broken: Run
) -> None:
    ledger = str(reports / "ledger.json")
    diff = wrkh("report", "diff", passing.run_id, broken.run_id, "--ledger", ledger)
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert "alert_no_longer_fires" in diff.stdout and "ApiHigh5xxRate" in diff.stdout
    assert "WrkPlatformFailureRate" not in diff.stdout  # the other alert still works
    same = wrkh("report", "diff", passing.run_id, passing.run_id, "--ledger", ledger)
    assert same.returncode == 0, same.stdout + same.stderr


def test_without_the_fault_the_fires_check_fails_and_says_why(tmp_path: Path) -> None:
    unfaulted = run(tmp_path, "--scenario", SCENARIO, "--without-faults", want=1)
    fires = unfaulted.checks("alert_fires")[0]
    assert fires["passed"] is False
    assert fires["time_to_firing_s"] is None
    assert "expected ApiHigh5xxRate firing within" in fires["message"]
    assert "never went pending" in fires["message"]
    assert "alert_fires" in unfaulted.output  # the one-screen summary names the failed check


def test_malformed_scenarios_are_rejected_before_anything_starts(tmp_path: Path) -> None:
    suite = copy_catalog(tmp_path)
    good = (ROOT / "scenarios" / "platform_outage.yaml").read_text()
    bad_duration = good.replace("name: wrk-platform-outage", "name: bad-one")
    bad_duration = bad_duration.replace("baseline: 5m", "baseline: 5x")
    bad_alert = good.replace("name: wrk-platform-outage", "name: bad-two")
    bad_alert = bad_alert.replace("fires: [ApiHigh5xxRate,", "fires: [NoSuchAlert,")
    assert good not in (bad_duration, bad_alert), "the scenario changed; update this test"
    (suite / "a_bad_duration.yaml").write_text(bad_duration)
    (suite / "b_unknown_alert.yaml").write_text(bad_alert)
    reports = tmp_path / "reports"
    proc = wrkh("run", "--scenarios", str(suite), "--report-dir", str(reports), timeout=60)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "a_bad_duration.yaml" in out and "phases.baseline" in out
    assert "b_unknown_alert.yaml" in out and "NoSuchAlert" in out
    assert not reports.exists() or not any(reports.iterdir())  # no run started


def test_sigterm_mid_fault_leaves_no_process_and_rolls_the_fault_back(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*WRKH, "run", "--report-dir", str(tmp_path), "--scenario", SCENARIO],
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
