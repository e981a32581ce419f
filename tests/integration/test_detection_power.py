"""Detection power: break the system under test on purpose; the suite must name the breakage.

Each test injects one defect into the fakes (through WRK_DEFECTS, which the fakes honour for
exactly this purpose) or into the catalogue, runs one scenario as a user would, and asserts
that the specific check reporting that defect failed, with a message that says so.
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


def _run(
    report_dir: Path, scenario: str, *extra: str, scenarios: Path | None = None
) -> dict[str, Any]:
    args = [sys.executable, "-m", "harness.cli", "run", "--report-dir", str(report_dir),
            "--scenario", scenario, *extra]  # fmt: skip
    if scenarios is not None:
        args += ["--scenarios", str(scenarios)]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, (
        f"the defect went unnoticed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    )
    results: dict[str, Any] = json.loads((report_dir / "latest" / "results.json").read_text())
    return results


def _failed(results: dict[str, Any]) -> dict[str, str]:
    """Failed checks by kind: their messages joined (a kind may fail more than once)."""
    failed: dict[str, list[str]] = {}
    for c in results["checks"]:
        if not c["passed"]:
            failed.setdefault(c["kind"], []).append(c["message"])
    return {kind: "\n".join(messages) for kind, messages in failed.items()}


def _defect(tmp_path: Path, defect: str) -> dict[str, str]:
    # --preflight warn: the scenario's own checks must name the defect, not only the preflight.
    args = ("--fake-env", f"WRK_DEFECTS={defect}", "--preflight", "warn")
    return _failed(_run(tmp_path, "healthy-baseline", *args))


def test_a_renamed_metric_is_reported_by_name(tmp_path: Path) -> None:
    failed = _defect(tmp_path, "rename_metric")
    assert "http_5xx_count" in failed["metrics_present"]


def test_a_dropped_log_field_is_reported(tmp_path: Path) -> None:
    failed = _defect(tmp_path, "drop_log_field")
    assert "tenant_id" in failed["log_fields"]


def test_a_lost_request_id_breaks_correlation(tmp_path: Path) -> None:
    failed = _defect(tmp_path, "no_request_id_propagation")
    assert "edge→core" in failed["request_id_correlation"]


def test_a_logged_secret_is_reported_without_printing_it(tmp_path: Path) -> None:
    failed = _defect(tmp_path, "log_secret")
    message = failed["no_secret_in_logs"]
    assert "API key" in message
    assert "wrk_" not in message.split("API key", 1)[1][:40]  # masked, never the key itself


def test_a_raised_alert_threshold_means_the_alert_never_fires(tmp_path: Path) -> None:
    suite = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", suite)
    alerts = suite / "catalog" / "alerts.yaml"
    text = alerts.read_text()
    broken = text.replace("[{{window}}])) > 0.01", "[{{window}}])) > 0.5", 1)
    assert broken != text, "the ApiHigh5xxRate threshold moved; update this test"
    alerts.write_text(broken)
    failed = _failed(_run(tmp_path / "reports", "wrk-platform-outage", scenarios=suite))
    assert "expected ApiHigh5xxRate firing within" in failed["alert_fires"]
    assert "never" in failed["alert_fires"]
