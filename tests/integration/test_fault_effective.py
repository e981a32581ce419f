"""Every fault proves it acted: a fault that moves nothing fails the run, naming the fault.

The scenario a newcomer writes: the WRK Platform answering 503 to 2% of workflow calls
through its fault lever, no alert expected, held an hour. Nothing fires either way, so
only `fault_effective` can tell the fault that acted from the one that did nothing (here the
same lever pulled at a ratio of 0). An hour is 24 s at the default time scale, about 480
workflow calls: the chance that none of them fails is 0.98^480, below 1 in 10,000 (15 minutes,
6 s, left it at 1 in 11).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

NEWCOMER = """
name: platform-flaky
description: The WRK Platform answers 503 to 2% of workflow calls
load:
  users: 20
  rate_per_user: 5
  mix: {{studio_read: 4, studio_write: 1}}
phases:
  warmup: 5m
  baseline: 5m
faults:
  - name: platform-503s
    kind: http
    hold: 60m
    apply:
      service: platform
      method: PUT
      path: /admin/faults
      json: {{mode: error_5xx, ratio: {ratio}, status: 503}}
    rollback:
      service: platform
      method: PUT
      path: /admin/faults
      json: {{mode: none}}
expect:
  fires: []
"""


def _run(tmp_path: Path, ratio: float) -> tuple[int, dict[str, Any], str]:
    suite = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", suite / "catalog")
    (suite / "platform_flaky.yaml").write_text(NEWCOMER.format(ratio=ratio))
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--scenarios", str(suite),
         "--report-dir", str(reports)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    results = json.loads((reports / "latest" / "results.json").read_text())
    check = next(c for c in results["checks"] if c["kind"] == "fault_effective")
    return proc.returncode, check, proc.stdout + proc.stderr


def test_the_fault_that_acted_is_shown_acting(tmp_path: Path) -> None:
    _, check, output = _run(tmp_path, 0.02)
    assert check["passed"] is True, check["message"] + output[-3000:]
    assert check["id"] == "platform-flaky::fault_effective::platform-503s"
    assert 'wrk_platform_calls_total{outcome="failure"}' in check["message"]


def test_a_fault_made_ineffective_fails_the_run_naming_it(tmp_path: Path) -> None:
    code, check, output = _run(tmp_path, 0.0)
    assert code == 1, output[-3000:]
    assert check["passed"] is False
    assert check["message"].startswith("fault platform-503s (PUT platform/admin/faults) showed no")
    assert "FAIL fault_effective" in output
