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
    report_dir: Path, scenario: str | None, *extra: str, scenarios: Path | None = None
) -> dict[str, Any]:
    """`wrkh run` of one scenario (None: every scenario of the suite); it must fail."""
    args = [sys.executable, "-m", "harness.cli", "run", "--report-dir", str(report_dir),
            *(["--scenario", scenario] if scenario else []), *extra]  # fmt: skip
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
    """Failed checks of one healthy-baseline run with `defect` alone injected."""
    # --preflight warn: the scenario's own checks must name the defect, not only the preflight.
    args = ("--fake-env", f"WRK_DEFECTS={defect}", "--preflight", "warn")
    return _failed(_run(tmp_path, "healthy-baseline", *args))


# Each defect breaks a different part of the contract, read by a different check; one run
# with all four injected tells each check's verdict as well as four runs would.
DEFECTS = ("rename_metric", "drop_log_field", "no_request_id_propagation", "log_secret")


@pytest.fixture(scope="module")
def defects_failed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Failed checks of one healthy-baseline run with every defect of DEFECTS injected."""
    # --preflight warn: the scenario's own checks must name the defect, not only the preflight.
    args = ("--fake-env", f"WRK_DEFECTS={','.join(DEFECTS)}", "--preflight", "warn")
    return _failed(_run(tmp_path_factory.mktemp("defects"), "healthy-baseline", *args))


def test_a_renamed_metric_is_reported_by_name(defects_failed: dict[str, str]) -> None:
    assert "http_5xx_count" in defects_failed["metrics_present"]


def test_a_dropped_log_field_is_reported(defects_failed: dict[str, str]) -> None:
    assert "tenant_id" in defects_failed["log_fields"]


def test_a_lost_request_id_breaks_correlation(defects_failed: dict[str, str]) -> None:
    assert "edge→core" in defects_failed["request_id_correlation"]


def test_a_logged_secret_is_reported_without_printing_it(defects_failed: dict[str, str]) -> None:
    message = defects_failed["no_secret_in_logs"]
    assert "API key" in message
    assert "wrk_" not in message.split("API key", 1)[1][:40]  # masked, never the key itself


def test_a_base64_encoded_key_in_a_log_is_reported_without_printing_it(tmp_path: Path) -> None:
    failed = _defect(tmp_path, "log_secret_base64")
    message = failed["no_secret_in_logs"]
    assert "API key of tenant-" in message and "field 'client_fingerprint'" in message
    # Neither the key nor its encoding reaches any report.
    for name in ("results.json", "junit.xml", "report.html"):
        report = tmp_path / "latest" / name
        if report.exists():
            assert 'client_fingerprint":"d3JrX' not in report.read_text()


def test_a_signature_header_logged_as_a_pair_is_reported(tmp_path: Path) -> None:
    failed = _defect(tmp_path, "log_signature_pair")
    assert "x-wrk-signature header value" in failed["no_secret_in_logs"]
    assert "found in webhook's" in failed["no_secret_in_logs"]


def test_a_forged_signature_the_run_sent_is_found_in_the_webhook_log(tmp_path: Path) -> None:
    args = ("--fake-env", "WRK_DEFECTS=log_signature_pair", "--preflight", "warn")
    failed = _failed(_run(tmp_path, "bad-webhook-signatures", *args))
    assert "webhook signature the run sent" in failed["no_secret_in_logs"]


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


NOISY_SCENARIO = """
name: {name}
description: Healthy Studio reads; the catalogue's latency alert is true whenever there is traffic
load: {{users: 2, rate_per_user: 5, mix: {{studio_read: 1}}}}
phases: {{warmup: {warmup}, baseline: {baseline}}}
expect: {{quiet_in_baseline: all}}
"""


def test_a_rule_true_throughout_a_healthy_baseline_fails_it_by_name(tmp_path: Path) -> None:
    """ApiHighLatencyP95 made true under any traffic, with `for: 10m` (10 s at scale 60).
    A baseline longer than `for` sees it fire. One shorter than half of it, after a warm-up
    in which it went pending, sees it pending throughout: too short for the episode to reach
    half of `for` by the baseline's end, and warm-up and baseline together shorter than `for`,
    so it cannot fire."""
    suite = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", suite / "catalog")
    alerts = suite / "catalog" / "alerts.yaml"
    text = alerts.read_text()
    head, _, rest = text.partition("  - name: ApiHighLatencyP95\n")
    own, _, tail = rest.partition("\n  - name: ")
    latency = (
        "      histogram_quantile(0.95,\n      sum by (le) "
        '(rate(http_request_duration_seconds_bucket{job="edge"}[{{window}}]))) > 2\n'
    )
    traffic = '      sum(rate(http_request_count_total{job="edge"}[{{window}}])) > 0\n'
    noisy = own.replace(latency, traffic).replace("    for: 5m\n", "    for: 10m\n")
    assert noisy.count(traffic) == 1 and "for: 10m" in noisy, "ApiHighLatencyP95 changed"
    alerts.write_text(f"{head}  - name: ApiHighLatencyP95\n{noisy}\n  - name: {tail}")
    phases = {"longer-than-for": ("1m", "12m"), "shorter-than-for": ("3m", "1m")}
    for name, (warmup, baseline) in phases.items():
        scenario = NOISY_SCENARIO.format(name=name, warmup=warmup, baseline=baseline)
        (suite / f"{name}.yaml").write_text(scenario)
    results = _run(tmp_path / "reports", None, scenarios=suite)
    quiet = {c["scenario"]: c for c in results["checks"] if c["kind"] == "baseline_quiet"}
    longer, shorter = quiet["longer-than-for"], quiet["shorter-than-for"]
    assert not longer["passed"] and not shorter["passed"], (longer, shorter)
    assert "ApiHighLatencyP95 firing" in longer["message"]
    assert "ApiHighLatencyP95 pending throughout the baseline" in shorter["message"]
    assert "firing" not in shorter["message"]


def test_a_worker_that_skips_a_tenant_fails_the_usage_slo_naming_it(tmp_path: Path) -> None:
    message = _defect(tmp_path, "usage_skips_tenant")["slo_async"]
    assert "usage-aggregation-latency violated (expected held)" in message
    assert "tenant(s) seeing none of their items: tenant-2" in message
    assert "no usage aggregate for its automation and day" in message
    assert "tenant-1 " in message  # the served tenant is shown too, not named as missing


def test_a_worker_that_finishes_without_writing_fails_the_usage_slo(tmp_path: Path) -> None:
    message = _defect(tmp_path, "usage_no_write")["slo_async"]
    assert "usage-aggregation-latency violated (expected held)" in message
    assert "tenant(s) seeing none of their items: tenant-1, tenant-2" in message


def test_an_aggregate_that_counts_runs_twice_fails_the_usage_slo(tmp_path: Path) -> None:
    message = _defect(tmp_path, "usage_double_count")["slo_async"]
    assert "usage-aggregation-latency violated (expected held)" in message
    assert "usage aggregate counts more runs than were stored" in message
