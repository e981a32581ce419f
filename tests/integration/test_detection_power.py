"""Detection power: break the system under test on purpose; the suite must name the breakage.

Each defect is injected into the fakes (through WRK_DEFECTS, which the fakes honour for exactly
this purpose) or into the catalogue; a run as a user would start it must fail the specific check
reporting that defect, with a message that says so. A run carries several defects when each is
read by a different check (or by one check in different scenarios): one run then tells every
verdict as well as one run each would. Defects that one check reads alike (the three ways of
leaking a secret, the three broken usage workers) each get a run of their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.dashboards import HAS_DATA
from harness.spec.catalog import load_catalog

from ._wrkh import Run, copy_catalog, defects, run

pytestmark = pytest.mark.integration
BASELINE = "healthy-baseline"
SIGNATURES = "bad-webhook-signatures"

# run -> the defects it injects; no two of one run are read by the same check.
RUNS = {
    "contract": ("rename_metric", "drop_log_field", "no_request_id_propagation", "log_secret",
                 "usage_skips_tenant"),
    "encoded": ("log_secret_base64", "usage_no_write", "coarse_buckets"),
    "pairs": ("log_signature_pair", "usage_double_count", "drop_route_label"),
}  # fmt: skip


def _broken(factory: pytest.TempPathFactory, name: str, *scenarios: str) -> Run:
    args = defects(",".join(RUNS[name]), *scenarios)
    return run(factory.mktemp(name), *args, want=1)


@pytest.fixture(scope="module")
def contract_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _broken(tmp_path_factory, "contract", BASELINE)


@pytest.fixture(scope="module")
def contract(contract_run: Run) -> dict[str, str]:
    return contract_run.failed(BASELINE)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _broken(tmp_path_factory, "encoded", BASELINE)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Signature pairs logged in a healthy baseline, then while the run sends forged ones."""
    return _broken(tmp_path_factory, "pairs", BASELINE, SIGNATURES)


def test_a_renamed_metric_is_reported_by_name(contract: dict[str, str]) -> None:
    assert "http_5xx_count" in contract["metrics_present"]


def _titles_reading(series: str) -> tuple[set[str], int]:
    """Titles of the panels whose queries read `series`, and how many panels there are."""
    dashboards = load_catalog().dashboards
    assert dashboards is not None
    panels = [p for d in dashboards.dashboards for p in d.panels]
    return {p.title for p in panels if any(series in t.expr for t in p.targets)}, len(panels)


def test_a_renamed_metric_fails_exactly_the_panels_that_read_it(contract_run: Run) -> None:
    """The healthy baseline wants data in every panel: exactly those reading the renamed
    `http_5xx_count_total` fail, by title; the other defects of the run empty no panel."""
    renamed = "http_5xx_count_total"
    checks = contract_run.checks(HAS_DATA, BASELINE)
    failed = {c["message"] for c in checks if not c["passed"]}
    expected, panels = _titles_reading(renamed)
    assert "5xx by route" in expected
    assert len(checks) == panels  # one check per panel
    failed_titles = {t for t in expected if any(f'panel "{t}"' in m for m in failed)}
    assert failed_titles == expected, f"failed: {sorted(failed)}"
    assert len(failed) == len(expected), f"other panels failed too: {sorted(failed)}"
    assert all(renamed in m and "returned no samples" in m for m in failed)
    (scenario,) = [s for s in contract_run.results["scenarios"] if s["name"] == BASELINE]
    series = [s for s in scenario["series"] if s["kind"] == "panel"]
    assert {s["title"] for s in series} >= expected  # captured for the report's plots


def test_a_dropped_log_field_is_reported(contract: dict[str, str]) -> None:
    assert "tenant_id" in contract["log_fields"]


def test_a_lost_request_id_breaks_correlation(contract: dict[str, str]) -> None:
    assert "edge→core" in contract["request_id_correlation"]


def test_a_logged_secret_is_reported_without_printing_it(contract: dict[str, str]) -> None:
    message = contract["no_secret_in_logs"]
    assert "API key" in message
    assert "wrk_" not in message.split("API key", 1)[1][:40]  # masked, never the key itself


def test_a_base64_encoded_key_in_a_log_is_reported_without_printing_it(encoded: Run) -> None:
    message = encoded.failed(BASELINE)["no_secret_in_logs"]
    assert "API key of tenant-" in message and "field 'client_fingerprint'" in message
    # Neither the key nor its encoding reaches any report.
    for name in ("results.json", "junit.xml", "report.html"):
        report = encoded.reports / "latest" / name
        if report.exists():
            assert 'client_fingerprint":"d3JrX' not in report.read_text()


def test_a_signature_header_logged_as_a_pair_is_reported(pairs: Run) -> None:
    message = pairs.failed(BASELINE)["no_secret_in_logs"]
    assert "x-wrk-signature header value" in message
    assert "found in webhook's" in message


def test_a_forged_signature_the_run_sent_is_found_in_the_webhook_log(pairs: Run) -> None:
    assert "webhook signature the run sent" in pairs.failed(SIGNATURES)["no_secret_in_logs"]


def test_default_buckets_fail_latency_buckets_by_metric_and_threshold(encoded: Run) -> None:
    message = encoded.failed(BASELINE)["latency_buckets"]
    assert "http_request_duration_seconds_bucket: threshold 0.4 s of SLO" in message
    assert "2 s of alert ApiHighLatencyP95" in message


def test_a_dropped_route_label_is_named_not_an_empty_window(pairs: Run) -> None:
    message = pairs.failed(BASELINE)["slo_latency"]
    assert "http_request_duration_seconds_bucket has no label `route`" in message
    assert "no requests" not in message


def test_a_worker_that_skips_a_tenant_fails_the_usage_slo_naming_it(
    contract: dict[str, str],
) -> None:
    message = contract["slo_async"]
    assert "usage-aggregation-latency violated (expected held)" in message
    assert "tenant(s) seeing none of their items: tenant-2" in message
    assert "no usage aggregate for its automation and day" in message
    assert "tenant-1 " in message  # the served tenant is shown too, not named as missing


def test_a_worker_that_finishes_without_writing_fails_the_usage_slo(encoded: Run) -> None:
    message = encoded.failed(BASELINE)["slo_async"]
    assert "usage-aggregation-latency violated (expected held)" in message
    assert "tenant(s) seeing none of their items: tenant-1, tenant-2" in message


def test_an_aggregate_that_counts_runs_twice_fails_the_usage_slo(pairs: Run) -> None:
    message = pairs.failed(BASELINE)["slo_async"]
    assert "usage-aggregation-latency violated (expected held)" in message
    assert "usage aggregate counts more runs than were stored" in message


NOISY_SCENARIO = """
name: {name}
description: Healthy Studio reads; the catalogue's latency alert is true whenever there is traffic
load: {{users: 2, rate_per_user: 5, mix: {{studio_read: 1}}}}
phases: {{warmup: {warmup}, baseline: {baseline}}}
expect: {{quiet_in_baseline: all}}
"""


def test_a_rule_true_throughout_a_healthy_baseline_fails_it_by_name(tmp_path: Path) -> None:
    """ApiHighLatencyP95 made true under any traffic, with `for: 10m` (4 s at scale 150).
    A baseline longer than `for` sees it fire. One shorter than half of it, after a warm-up
    in which it went pending, sees it pending throughout: too short for the episode to reach
    half of `for` by the baseline's end, and warm-up and baseline together shorter than `for`,
    so it cannot fire."""
    suite = copy_catalog(tmp_path)
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
    results = run(tmp_path / "reports", "--scenarios", str(suite), want=1).results
    quiet = {c["scenario"]: c for c in results["checks"] if c["kind"] == "baseline_quiet"}
    longer, shorter = quiet["longer-than-for"], quiet["shorter-than-for"]
    assert not longer["passed"] and not shorter["passed"], (longer, shorter)
    assert "ApiHighLatencyP95 firing" in longer["message"]
    assert "ApiHighLatencyP95 pending throughout the baseline" in shorter["message"]
    assert "firing" not in shorter["message"]
