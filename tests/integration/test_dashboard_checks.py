"""Dashboard checks on the real stack: a renamed metric empties exactly the panels reading it.

The fakes expose `http_5xx_count` as `http_5xx_errors_total` under WRK_DEFECTS=rename_metric
(fake_services/defects.py). A short healthy scenario with `have_data: all` must then fail the
panels whose queries read `http_5xx_count_total`, by title, and pass every other panel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.checks.dashboards import HAS_DATA
from harness.spec.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
RENAMED = "http_5xx_count_total"
pytestmark = pytest.mark.integration

SCENARIO = {
    "name": "dashboards-have-data",
    "description": "Healthy mixed load, long enough for every panel to have samples",
    "load": {
        "users": 6,
        "rate_per_user": 5,
        "mix": {
            "studio_read": 8,
            "studio_write": 2,
            "version_write": 2,
            "admin_read": 4,
            "admin_write": 2,
            "quote_sign": 1,
            "bad_key": 1,
        },
    },
    "phases": {"warmup": "5m", "baseline": "5m"},
    "expect": {"quiet_in_baseline": [], "dashboards": {"have_data": "all"}},
}


def _titles_reading(series: str) -> tuple[set[str], int]:
    """Titles of the panels whose queries read `series`, and how many panels there are."""
    dashboards = load_catalog().dashboards
    assert dashboards is not None
    panels = [p for d in dashboards.dashboards for p in d.panels]
    return {p.title for p in panels if any(series in t.expr for t in p.targets)}, len(panels)


def test_a_renamed_metric_fails_exactly_the_panels_that_read_it(tmp_path: Path) -> None:
    suite = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", suite / "catalog")
    (suite / "dashboards_have_data.yaml").write_text(yaml.safe_dump(SCENARIO, sort_keys=False))
    reports = tmp_path / "reports"
    args = [sys.executable, "-m", "harness.cli", "run", "--scenarios", str(suite),
            "--scenario", SCENARIO["name"], "--report-dir", str(reports),
            "--fake-env", "WRK_DEFECTS=rename_metric", "--preflight", "warn"]  # fmt: skip
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, f"the defect went unnoticed:\n{proc.stdout[-3000:]}{proc.stderr}"
    results: dict[str, Any] = json.loads((reports / "latest" / "results.json").read_text())
    checks = [c for c in results["checks"] if c["kind"] == HAS_DATA]
    failed = {c["message"] for c in checks if not c["passed"]}
    expected, panels = _titles_reading(RENAMED)
    assert "5xx by route" in expected
    assert len(checks) == panels  # one check per panel
    failed_titles = {t for t in expected if any(f'panel "{t}"' in m for m in failed)}
    assert failed_titles == expected, f"failed: {sorted(failed)}"
    assert len(failed) == len(expected), f"other panels failed too: {sorted(failed)}"
    assert all(RENAMED in m and "returned no samples" in m for m in failed)
    series = [s for s in results["scenarios"][0]["series"] if s["kind"] == "panel"]
    assert {s["title"] for s in series} >= expected  # captured for the report's plots
