"""Detection power on what the target exposes: histograms whose edges miss the spec's
thresholds, and a histogram without the label the SLOs select on. Each run breaks the fakes
on purpose (WRK_DEFECTS) and the suite must fail the named check, saying why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _failed_with(tmp_path: Path, defect: str) -> dict[str, str]:
    """Failed checks of healthy-baseline run with `defect`, by kind, messages joined."""
    args = [sys.executable, "-m", "harness.cli", "run", "--report-dir", str(tmp_path),
            "--scenario", "healthy-baseline", "--fake-env", f"WRK_DEFECTS={defect}",
            "--preflight", "warn"]  # fmt: skip
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=400, check=False)
    assert proc.returncode == 1, f"the defect went unnoticed:\n{proc.stdout[-3000:]}{proc.stderr}"
    results = json.loads((tmp_path / "latest" / "results.json").read_text())
    failed: dict[str, list[str]] = {}
    for check in results["checks"]:
        if not check["passed"]:
            failed.setdefault(check["kind"], []).append(check["message"])
    return {kind: "\n".join(messages) for kind, messages in failed.items()}


def test_default_buckets_fail_latency_buckets_by_metric_and_threshold(tmp_path: Path) -> None:
    failed = _failed_with(tmp_path, "coarse_buckets")
    message = failed["latency_buckets"]
    assert "http_request_duration_seconds_bucket: threshold 0.4 s of SLO" in message
    assert "2 s of alert ApiHighLatencyP95" in message


def test_a_dropped_route_label_is_named_not_an_empty_window(tmp_path: Path) -> None:
    failed = _failed_with(tmp_path, "drop_route_label")
    message = failed["slo_latency"]
    assert "http_request_duration_seconds_bucket has no label `route`" in message
    assert "no requests" not in message
