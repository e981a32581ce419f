"""The catalogue models and loader (harness.spec.catalog), with harness.spec.files' reporting."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError, Problem
from harness.spec.alerts import Alert, Receiver, ScalePolicy, Severity
from harness.spec.burn_rate import RECORDED_RATIO, BurnRateAlert
from harness.spec.catalog import DEFAULT_CATALOG_DIR, Catalog, load_catalog
from harness.spec.files import field_path
from harness.spec.metrics import MetricType
from harness.spec.slo import AvailabilitySlo
from harness.spec.timescale import Timing
from harness.spec.vocabulary import referenced_series

GOOD_EXPR = (
    'sum(rate(http_5xx_count_total{job="edge"}[{{window}}]))'
    ' / sum(rate(http_request_count_total{job="edge"}[{{window}}])) > 0.01'
)
CASE = {"input_series": [{"series": 'http_5xx_count_total{job="edge"}', "values": "0+1x30"}]}


def alert_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "ApiHigh5xxRate",
        "summary": "API 5xx rate above 1% for 5 minutes",
        "spec_ref": "§5.1",
        "severity": "SEV-2",
        "receiver": "oncall",
        "window": "5m",
        "for": "5m",
        "expr": GOOD_EXPR,
        "test": {"firing": CASE, "healthy": CASE},
    }
    return {**data, **overrides}


def write_catalog(
    tmp_path: Path,
    alerts: object,
    metrics_text: str | None = None,
    burn_rate_alerts: list[dict[str, Any]] | None = None,
) -> Path:
    """A catalogue folder with the real metrics.yaml (or `metrics_text`) and slos.yaml, and
    these alerts (a list, or the text of alerts.yaml)."""
    folder = tmp_path / "catalog"
    folder.mkdir()
    shutil.copy(DEFAULT_CATALOG_DIR / "slos.yaml", folder / "slos.yaml")
    if metrics_text is None:
        shutil.copy(DEFAULT_CATALOG_DIR / "metrics.yaml", folder / "metrics.yaml")
    else:
        (folder / "metrics.yaml").write_text(metrics_text)
    doc: dict[str, object] = {"alerts": alerts}
    if burn_rate_alerts is not None:
        doc["burn_rate_alerts"] = burn_rate_alerts
    text = alerts if isinstance(alerts, str) else yaml.safe_dump(doc, sort_keys=False)
    (folder / "alerts.yaml").write_text(text)
    return folder


def copy_catalog(tmp_path: Path, **edits: tuple[str, str]) -> Path:
    """The real catalogue copied, with `file=(old, new)` text replacements (each must hit)."""
    folder = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, folder)
    for name, (old, new) in edits.items():
        path = folder / f"{name}.yaml"
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}.yaml"
        path.write_text(text.replace(old, new, 1))
    return folder


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_catalog(folder)
    return info.value.problems


def by_field(problems: list[Problem]) -> dict[str, str]:
    return {p.field: p.reason for p in problems}


# -- the real catalogue -------------------------------------------------------------------


def test_real_catalogue_loads() -> None:
    catalog = load_catalog()
    alert = catalog.alert("ApiHigh5xxRate")
    assert alert.spec_ref == "§5.1"
    assert alert.severity is Severity.SEV_2
    assert alert.receiver is Receiver.ONCALL
    assert (alert.window_s, alert.for_s) == (300, 300)
    assert catalog.shortest_window_s() == 300
    assert catalog.metrics["http_request_count"].series == "http_request_count_total"
    assert set(catalog.metrics["http_request_count"].labels) == {"route", "method", "status"}


def test_real_catalogue_uses_only_declared_series() -> None:
    catalog = load_catalog()
    for alert in catalog.alerts:
        # Burn-rate alerts read the recorded ratios; everything else reads exposed series.
        recorded = {RECORDED_RATIO} if isinstance(alert, BurnRateAlert) else set()
        assert referenced_series(alert.expr) <= catalog.vocabulary.names | recorded


# Spec §5 alerts and the SLO burn-rate alerts: severity (§6.1) and receiver.
EXPECTED_ALERTS = {
    "ApiHigh5xxRate": (Severity.SEV_2, Receiver.ONCALL),
    "ApiHighLatencyP95": (Severity.SEV_3, Receiver.ONCALL),
    "QueueDepthHigh": (Severity.SEV_3, Receiver.ONCALL),
    "DbPoolSaturated": (Severity.SEV_3, Receiver.ONCALL),
    "RunEventsSilent": (Severity.SEV_1, Receiver.ONCALL),
    "WrkPlatformFailureRate": (Severity.SEV_2, Receiver.ONCALL),
    "TopTierChurnRisk": (Severity.SEV_3, Receiver.OPS_ESCALATION),
    "AuthBruteForce": (Severity.SEV_2, Receiver.SECURITY),
    "WebhookSignatureFailures": (Severity.SEV_2, Receiver.SECURITY),
    "StudioApiErrorBudgetFastBurn": (Severity.SEV_1, Receiver.ONCALL),
    "StudioApiErrorBudgetSlowBurn": (Severity.SEV_3, Receiver.ONCALL),
    "AdminApiErrorBudgetFastBurn": (Severity.SEV_2, Receiver.ONCALL),
    "AdminApiErrorBudgetSlowBurn": (Severity.SEV_3, Receiver.ONCALL),
    "RunEventWebhookErrorBudgetFastBurn": (Severity.SEV_2, Receiver.ONCALL),
    "RunEventWebhookErrorBudgetSlowBurn": (Severity.SEV_3, Receiver.ONCALL),
}


def test_real_catalogue_has_every_alert_with_its_severity_and_receiver() -> None:
    catalog = load_catalog()
    assert {a.name: (a.severity, a.receiver) for a in catalog.alerts} == EXPECTED_ALERTS


@pytest.mark.parametrize(
    ("name", "window", "for_", "threshold"),
    [
        ("ApiHighLatencyP95", 300, 300, ") > 2"),
        ("QueueDepthHigh", None, 600, "> 1000"),
        ("DbPoolSaturated", None, 300, "> 0.9"),
        ("RunEventsSilent", 300, 300, "== 0"),
        ("WrkPlatformFailureRate", 300, 600, "> 0.05"),
        ("AuthBruteForce", 300, 0, "> 50"),
        ("WebhookSignatureFailures", 300, 0, "> 10"),
    ],
)
def test_real_alerts_keep_the_spec_durations_and_thresholds(
    name: str, window: float | None, for_: float, threshold: str
) -> None:
    alert = load_catalog().alert(name)
    assert (alert.window_s, alert.for_s) == (window, for_)
    assert threshold in alert.expr


def test_run_events_silent_treats_no_data_as_silence() -> None:
    expr = load_catalog().alert("RunEventsSilent").expr_at(1)
    assert "absent_over_time(run_events_ingested_total[5m])" in expr
    # Only a probe that saw the platform down excuses silence; a missing probe does not.
    assert "unless on() (min_over_time(wrk_platform_up[5m]) == 0)" in expr


def test_top_tier_churn_risk_has_nothing_to_fill() -> None:
    alert = load_catalog().alert("TopTierChurnRisk")
    assert alert.window_s is None and alert.windows_s == {"lookback": 3600}
    assert alert.fill_window_s == 0
    assert alert.budget(Timing.for_scale(60, 300)).budget_s == 2.5  # scrape + 2 evals + AM


# -- the metric contract --------------------------------------------------------------------

CONTRACT = {
    "http_request_count_total": ("route", "method", "status"),
    "http_request_duration_seconds_bucket": ("route", "method", "le"),
    "http_4xx_count_total": ("route",),
    "http_5xx_count_total": ("route",),
    "worker_job_count_total": ("queue", "status"),
    "worker_job_duration_seconds_bucket": ("queue", "le"),
    "worker_dead_letter_count_total": ("queue",),
    "queue_depth": ("queue",),
    "db_query_duration_seconds_bucket": ("operation", "table", "le"),
    "db_connection_pool_in_use": (),
    "db_connection_pool_size": (),
    "db_lock_wait_time_seconds_bucket": ("le",),
    "automation_versions_by_status": ("status",),
    "projects_by_status": ("status",),
    "run_events_ingested_total": (),
    "usage_aggregates_updated_total": (),
    "quotes_by_status": ("status",),
    "client_health_status": ("status", "tier"),
    "wrk_platform_calls_total": ("call", "outcome"),
    "wrk_platform_call_duration_seconds_bucket": ("call", "le"),
    "wrk_platform_up": (),
    "webhook_failures_total": ("reason",),
    "auth_failures_total": ("source_ip", "reason"),
}


def test_metric_contract_lists_every_series_with_its_labels() -> None:
    catalog = load_catalog()
    contract = catalog.series_contract()
    assert {s: contract[s] for s in CONTRACT} == CONTRACT
    assert catalog.required_labels("http_request_duration_seconds_count") == ("route", "method")
    with pytest.raises(KeyError):
        catalog.required_labels("nope_total")


def test_metrics_mark_what_the_spec_names() -> None:
    metrics = load_catalog().metrics
    contract_only = {k for k, m in metrics.items() if not m.in_spec}
    assert contract_only == {
        "queue_depth",
        "dead_letter_queue_depth",
        "db_connection_pool_size",
        "wrk_platform_calls_total",
        "wrk_platform_call_duration_seconds",
        "wrk_platform_up",
        "webhook_failures_total",
        "auth_failures_total",
    }
    assert metrics["client_health_status"].values == {
        "status": ("Healthy", "At Risk", "Churn Risk"),
        "tier": ("standard", "top"),
    }


def test_histograms_have_the_threshold_buckets() -> None:
    metrics = load_catalog().metrics
    http = metrics["http_request_duration_seconds_bucket"].buckets or ()
    assert {0.4, 0.6, 0.8, 1, 2} <= set(http)  # SLO thresholds and the p95 alert
    worker = metrics["worker_job_duration_seconds"].buckets or ()
    assert {30, 60, 300} <= set(worker)  # async SLO thresholds
    assert {0.5, 1, 5} <= set(worker)  # ... and the same at time scale 60
    assert all(m.buckets for m in metrics.values() if m.type is MetricType.HISTOGRAM)


# -- burn-rate alerts and the SLOs they are generated from ----------------------------------


def test_fast_burn_alert_is_generated_from_its_slo() -> None:
    catalog = load_catalog()
    alert = catalog.alert("StudioApiErrorBudgetFastBurn")
    assert isinstance(alert, BurnRateAlert)
    assert alert.slo == "studio-api-availability"
    assert alert.all_windows_s == {"window": 3600, "short": 300, "long2": 21600, "short2": 1800}
    assert alert.for_s == 0
    assert alert.test.output_labels == {"slo": "studio-api-availability"}
    expr = alert.expr_at(1)
    ratio = 'slo:errors_per_request:ratio_rate{0}{{slo="studio-api-availability"}}'
    assert (
        f"({ratio.format('1h')} > (14.4 * 0.005) and {ratio.format('5m')} > (14.4 * 0.005))" in expr
    )
    assert f"({ratio.format('6h')} > (6 * 0.005) and {ratio.format('30m')} > (6 * 0.005))" in expr


def test_burn_rates_follow_from_the_budget_consumed_and_the_period() -> None:
    catalog = load_catalog()
    admin = catalog.alert("AdminApiErrorBudgetSlowBurn")
    assert "> (1 * 0.01)" in admin.expr  # 10% of a 1% budget in 3d of 30d: burn rate 1
    assert "> (14.4 * 0.01)" in catalog.alert("AdminApiErrorBudgetFastBurn").expr


def test_slow_burn_alerts_compress_and_their_budget_uses_that_scale() -> None:
    catalog = load_catalog()
    timing = catalog.timing(60)
    slow = catalog.alert("StudioApiErrorBudgetSlowBurn")
    assert slow.test_scale is ScalePolicy.COMPRESS
    assert slow.effective_scale(timing) == 4000
    assert slow.expr_at(slow.effective_scale(timing)).count("ratio_rate64800ms") == 1
    assert slow.budget(timing).budget_s == 67.3  # 64.8 s + 0.625 + 2 x 0.625 + 0.625
    fast = catalog.alert("StudioApiErrorBudgetFastBurn")
    assert fast.effective_scale(timing) == 60
    assert fast.budget(timing).budget_s == 62.5  # the 1h window, at scale 60
    assert catalog.budgets(timing)["StudioApiErrorBudgetSlowBurn"] == slow.budget(timing)
    # Production is never compressed.
    assert slow.effective_scale(catalog.timing(1)) == 1


def test_compressed_alerts_do_not_set_the_run_interval() -> None:
    catalog = load_catalog()
    assert catalog.shortest_window_s() == 300
    assert catalog.timing(60).scrape_interval_s == 0.625
    assert catalog.compressed(catalog.timing(60)) == (
        "StudioApiErrorBudgetSlowBurn",
        "AdminApiErrorBudgetSlowBurn",
        "RunEventWebhookErrorBudgetSlowBurn",
    )
    assert catalog.compressed(catalog.timing(1)) == ()
    assert catalog.alert("StudioApiErrorBudgetFastBurn").longest_window_s == 6 * 3600
    assert catalog.alert("QueueDepthHigh").longest_window_s == 0


def test_recorded_ratios_are_shared_where_the_rendered_window_is_the_same() -> None:
    catalog = load_catalog()
    production = catalog.recorded_ratios(catalog.timing(1))
    studio = [r.window for r in production if r.slo == "studio-api-availability"]
    assert studio == ["5m", "30m", "1h", "6h", "3d"]
    scaled = catalog.recorded_ratios(catalog.timing(60))
    studio = [r.window for r in scaled if r.slo == "studio-api-availability"]
    # page: 5m 30m 1h 6h at 60 -> 5s 30s 1m 6m; ticket: 6h 3d at 4000 -> 5400ms 64800ms
    assert studio == ["5s", "5400ms", "30s", "1m", "64800ms", "6m"]
    first = scaled[0]
    assert first.record == "slo:errors_per_request:ratio_rate5s"
    assert first.expr.endswith('route=~"/v1/automations.*|/v1/automation-versions.*"}[5s]))')
    only = catalog.recorded_ratios(catalog.timing(1), ["AdminApiErrorBudgetSlowBurn"])
    assert [(r.slo, r.window) for r in only] == [
        ("admin-api-availability", "6h"),
        ("admin-api-availability", "3d"),
    ]


def test_catalogue_answers_the_runner() -> None:
    catalog = load_catalog()
    slo = catalog.slo("studio-api-availability")
    assert isinstance(slo, AvailabilitySlo) and slo.objective == 0.995
    assert catalog.availability_slo("admin-api-availability").error_budget == 0.01
    with pytest.raises(KeyError):
        catalog.availability_slo("studio-api-read-latency")
    with pytest.raises(KeyError):
        catalog.slo("nope")
    assert set(catalog.tables) == {
        "automation_versions",
        "job_runs",
        "notifications",
        "run_events",
        "usage_aggregates",
    }
    assert catalog.select(["QueueDepthHigh"]) == (catalog.alert("QueueDepthHigh"),)


def test_histogram_exposes_bucket_sum_and_count() -> None:
    metric = load_catalog().metrics["http_request_duration_seconds_bucket"]
    assert metric.exposed_series == (
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count",
    )


def test_alert_budget_uses_window_and_for() -> None:
    alert = load_catalog().alert("ApiHigh5xxRate")
    timing = Timing.for_scale(60, 300)
    assert alert.budget(timing).floor_s == 5.0
    assert alert.budget(timing).budget_s == 12.5


def test_unknown_alert_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        load_catalog().alert("NoSuchAlert")


# -- windows and scaling ------------------------------------------------------------------


def test_every_window_is_scaled() -> None:
    expr = "rate(x_total[{{window}}]) > 0 and rate(x_total[{{ long }}]) > 0"
    alert = Alert.model_validate(alert_data(expr=expr, windows={"long": "1h"}))
    assert alert.expr_at(1) == "rate(x_total[5m]) > 0 and rate(x_total[1h]) > 0"
    assert alert.expr_at(60) == "rate(x_total[5s]) > 0 and rate(x_total[1m]) > 0"
    assert alert.for_at(60) == "5s"
    assert alert.all_windows_s == {"window": 300, "long": 3600}


def test_tiny_scaled_window_never_becomes_zero() -> None:
    alert = Alert.model_validate(alert_data(window="1s"))
    assert "[1ms]" in alert.expr_at(100_000)


def test_rule_labels_and_annotations_put_the_catalogue_fields_first() -> None:
    alert = Alert.model_validate(
        alert_data(labels={"team": "api"}, annotations={"runbook": "§6.2"})
    )
    assert alert.rule_labels() == {"severity": "SEV-2", "receiver": "oncall", "team": "api"}
    assert list(alert.rule_annotations()) == ["summary", "spec_ref", "runbook"]


@pytest.mark.parametrize(
    ("expr", "series"),
    [
        (GOOD_EXPR, {"http_5xx_count_total", "http_request_count_total"}),
        (
            "histogram_quantile(0.95, sum by (le, route) "
            "(rate(http_request_duration_seconds_bucket[{{window}}]))) > 2",
            {"http_request_duration_seconds_bucket"},
        ),
        ('up{job="edge"} == 0 unless on (job) absent(foo_total)', {"up", "foo_total"}),
        ("rate(a_total[{{window}}]) > bool 1e-3", {"a_total"}),
        (
            '{__name__="b_total"} offset {{window}} or c:ratio_rate{{window}}',
            {"b_total", "c:ratio_rate"},
        ),
    ],
)
def test_referenced_series(expr: str, series: set[str]) -> None:
    assert referenced_series(expr) == series


# -- problems, all at once, with file and field -------------------------------------------


def test_every_problem_is_reported_with_file_and_field(tmp_path: Path) -> None:
    alerts = [
        alert_data(**{"for": "5x", "severity": "SEV-9", "receiver": "pager", "colour": "red"}),
        alert_data(expr="sum(rate(http_5xx_count_total[5m])) > 0"),
        alert_data(name="ApiHigh5xxRate", window="0s"),
    ]
    folder = write_catalog(tmp_path, alerts)
    problems = problems_of(folder)
    fields = by_field(problems)
    file = str(folder / "alerts.yaml")
    assert {p.file for p in problems} == {file}
    assert fields["alerts[0].for"].startswith("not a duration: '5x'")
    assert "SEV-1" in fields["alerts[0].severity"]
    assert "'pager'" in fields["alerts[0].receiver"]
    assert fields["alerts[0].colour"] == "unknown field (not allowed here)"
    assert "must reference a window" in fields["alerts[1].expr"]
    assert "literal duration '5m'" in fields["alerts[1].expr"]
    assert fields["alerts[1].name"] == "duplicate alert name 'ApiHigh5xxRate' (first at alerts[0])"
    assert fields["alerts[2].window"] == "must be longer than 0s"
    message = str(ConfigError(problems))
    assert f"{file}: alerts[0].for: not a duration: '5x'" in message


def test_expr_window_problems(tmp_path: Path) -> None:
    alerts = [
        alert_data(name="A", expr="rate(http_5xx_count_total[{{long}}]) > 0"),
        alert_data(name="B", windows={"short": "1m"}),
        alert_data(name="C", windows={"window": "1m"}),
        alert_data(name="D", expr="rate(not_in_metrics_total[{{window}}]) > 0"),
    ]
    fields = by_field(problems_of(write_catalog(tmp_path, alerts)))
    assert "undeclared window placeholder(s): ['long']" in fields["alerts[0].expr"]
    assert "declared but unused window(s): ['short']" in fields["alerts[1].expr"]
    assert "main window" in fields["alerts[2].windows"]
    assert "not_in_metrics_total" in fields["alerts[3].expr"]


def test_reserved_labels_and_annotations_are_rejected(tmp_path: Path) -> None:
    alerts = [
        alert_data(name="A", labels={"severity": "x"}, annotations={"summary": "s"}),
        alert_data(name="B", labels={"bad-name": "y"}),
    ]
    fields = by_field(problems_of(write_catalog(tmp_path, alerts)))
    assert "['severity']" in fields["alerts[0].labels"]
    assert "['summary']" in fields["alerts[0].annotations"]
    assert "not a valid Prometheus label name" in fields["alerts[1].labels.bad-name"]


def test_templated_annotation_needs_its_expected_text(tmp_path: Path) -> None:
    alerts = [alert_data(annotations={"value": "{{ $value }}"})]
    fields = by_field(problems_of(write_catalog(tmp_path, alerts)))
    assert "test.annotations" in fields["alerts[0].test"]


def test_missing_fields_and_bad_metrics_are_reported_together(tmp_path: Path) -> None:
    metrics = textwrap.dedent("""\
        metrics:
          http_request_count:
            series: http_request_count
            type: counter
            labels: [route]
            spec_ref: §2.2
    """)
    folder = write_catalog(tmp_path, [{"name": "X"}], metrics_text=metrics)
    problems = problems_of(folder)
    files = {Path(p.file).name for p in problems}
    # slos.yaml too: its queries use series this one-metric contract does not declare.
    assert files == {"metrics.yaml", "alerts.yaml", "slos.yaml"}
    fields = by_field(problems)
    assert "must end in _total" in fields["metrics.http_request_count"]
    assert fields["alerts[0].summary"] == "required field is missing"
    assert fields["alerts[0].for"] == "required field is missing"
    assert "not declared in metrics.yaml: http_request_count_total" in fields["slos[0].total"]


def test_yaml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path, "alerts:\n  - name: [unclosed\n")
    (problem,) = problems_of(folder)
    assert problem.field.startswith("line 3")
    assert problem.reason.startswith("YAML syntax error")


def test_duplicate_yaml_keys_are_reported(tmp_path: Path) -> None:
    text = yaml.safe_dump({"alerts": [alert_data()]}, sort_keys=False)
    text = text.replace("  for: 5m\n", "  for: 5m\n  for: 10m\n")
    fields = by_field(problems_of(write_catalog(tmp_path, text)))
    assert any(reason == "duplicate key 'for'" for reason in fields.values())


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path, "")
    (folder / "metrics.yaml").unlink()
    fields = by_field(problems_of(folder))
    assert fields["(file)"].startswith("cannot read")
    assert fields["(root)"] == "expected a mapping at the top, got an empty file"


def test_catalog_model_rejects_duplicate_names() -> None:
    alert = Alert.model_validate(alert_data())
    with pytest.raises(ValueError, match="duplicate alert name"):
        Catalog(alerts=(alert, alert), metrics={})


def test_expressions_are_checked_against_the_metric_contract(tmp_path: Path) -> None:
    alerts = [
        alert_data(name="A", expr='rate(http_5xx_count_total{rout="/x"}[{{window}}]) > 0'),
        alert_data(
            name="B",
            expr='rate(wrk_platform_calls_total{outcome="failed"}[{{window}}]) > 0',
        ),
        alert_data(
            name="C",
            expr='rate(webhook_failures_total{reason=~"bad_sig.*"}[{{window}}]) > 0',
        ),
        alert_data(
            name="D",
            expr="histogram_quantile(0.95, sum by (le) "
            "(rate(http_request_duration_seconds_bucket[{{window}}]))) > 3",
        ),
        alert_data(name="E", expr='rate(http_5xx_count_total{job="egde"}[{{window}}]) > 0'),
    ]
    fields = by_field(problems_of(write_catalog(tmp_path, alerts)))
    assert (
        "http_5xx_count_total has no label 'rout' (it has: instance, job, route)"
        in (fields["alerts[0].expr"])
    )
    assert 'outcome="failed"' in fields["alerts[1].expr"]
    assert "matches none of its values: failure, success" in fields["alerts[1].expr"]
    assert "matches none of its values" in fields["alerts[2].expr"]
    assert (
        "threshold 3 is not a bucket edge of http_request_duration_seconds_bucket"
        in (fields["alerts[3].expr"])
    )
    assert "matches none of its values: core, edge, webhook" in fields["alerts[4].expr"]


def test_test_inputs_are_checked_against_the_metric_contract(tmp_path: Path) -> None:
    typo = {"input_series": [{"series": 'http_5xx_count{job="edge"}', "values": "0+1x30"}]}
    bad_label = {"input_series": [{"series": 'queue_depth{queue="builds"}', "values": "1500+0x30"}]}
    alerts = [alert_data(test={"firing": typo, "healthy": bad_label})]
    fields = by_field(problems_of(write_catalog(tmp_path, alerts)))
    assert "http_5xx_count" in fields["alerts[0].test.firing.input_series[0].series"]
    assert 'queue="builds"' in fields["alerts[0].test.healthy.input_series[0].series"]


def test_an_alert_without_a_main_window_may_not_use_one(tmp_path: Path) -> None:
    data = alert_data(expr="max(queue_depth) > 1000")
    del data["window"]
    assert Alert.model_validate(data).fill_window_s == 0
    fields = by_field(
        problems_of(write_catalog(tmp_path, [{**data, "expr": "rate(x_total[{{window}}]) > 0"}]))
    )
    assert "undeclared window placeholder(s): ['window']" in fields["alerts[0].expr"]


def test_alert_cases_and_scale_policy_are_validated(tmp_path: Path) -> None:
    case = {"name": "edge", "at": "5", "fires": "sometimes", "input_series": CASE["input_series"]}
    alerts = [
        alert_data(test_scale="fastest", test={"firing": CASE, "healthy": CASE, "cases": [case]})
    ]
    fields = by_field(problems_of(write_catalog(tmp_path, alerts)))
    assert (
        "'run'" in fields["alerts[0].test_scale"] and "'compress'" in fields["alerts[0].test_scale"]
    )
    assert fields["alerts[0].test.cases[0].at"].startswith("not a duration: '5'")
    assert "boolean" in fields["alerts[0].test.cases[0].fires"]


BURN = {
    "name": "StudioBurn",
    "summary": "Studio burns",
    "spec_ref": "§3.1",
    "severity": "SEV-1",
    "receiver": "oncall",
    "slo": "studio-api-availability",
    "windows": [{"long": "1h", "short": "5m", "budget_consumed": "2%"}],
    "for": "0s",
    "test": {"firing": CASE, "healthy": CASE},
}


def test_burn_rate_alert_problems(tmp_path: Path) -> None:
    burn = [
        {**BURN, "slo": "studio-api-read-latency"},
        {**BURN, "name": "B", "slo": "nope"},
        {**BURN, "name": "C", "windows": [{"long": "1h", "short": "5m", "budget_consumed": "2"}]},
        {**BURN, "name": "D", "windows": [{"long": "5m", "short": "1h", "budget_consumed": "2%"}]},
        {**BURN, "name": "E", "windows": [{"long": "40d", "short": "1h", "budget_consumed": "2%"}]},
        {**BURN, "name": "ApiHigh5xxRate", "expr": "up"},
    ]
    folder = write_catalog(tmp_path, [alert_data()], burn_rate_alerts=burn)
    fields = by_field(problems_of(folder))
    assert (
        "not an availability SLO of slos.yaml: 'studio-api-read-latency'"
        in (fields["burn_rate_alerts[0].slo"])
    )
    assert "'nope'" in fields["burn_rate_alerts[1].slo"]
    assert "not a percentage: '2'" in fields["burn_rate_alerts[2].windows[0].budget_consumed"]
    assert "shorter than the long one" in fields["burn_rate_alerts[3].windows[0]"]
    assert "a window of 40d exceeds the SLO's 30d" in fields["burn_rate_alerts[4].windows"]
    assert "unknown field" in fields["burn_rate_alerts[5].expr"]
    assert fields["burn_rate_alerts[5].name"] == (
        "duplicate alert name 'ApiHigh5xxRate' (first at alerts[0])"
    )


def test_a_valid_burn_rate_alert_is_generated(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path, [alert_data()], burn_rate_alerts=[BURN]))
    alert = catalog.alert("StudioBurn")
    assert isinstance(alert, BurnRateAlert)
    assert alert.window_s == 3600 and alert.windows_s == {"short": 300}
    assert [r.window for r in catalog.recorded_ratios(catalog.timing(1))] == ["5m", "1h"]


def test_metric_problems(tmp_path: Path) -> None:
    metrics = textwrap.dedent("""\
        metrics:
          a_seconds:
            series: a_seconds_bucket
            type: histogram
            labels: [route]
            spec_ref: §2.2
          b_seconds:
            series: b_seconds_bucket
            type: histogram
            labels: []
            buckets: [0.5, 0.1]
            spec_ref: §2.2
          e_seconds:
            series: e_seconds_bucket
            type: histogram
            labels: []
            buckets: [0.5, .inf]
            spec_ref: §2.2
          c_total:
            series: c_total
            type: counter
            labels: [queue]
            values: {queu: [a]}
            buckets: [1]
            spec_ref: §2.2
          d:
            series: d
            type: gauge
            labels: [bad-label]
            in_spec: maybe
            spec_ref: "2.2"
    """)
    fields = by_field(problems_of(write_catalog(tmp_path, [alert_data()], metrics_text=metrics)))
    assert "must list its buckets" in fields["metrics.a_seconds"]
    assert "strictly increasing" in fields["metrics.b_seconds"]
    assert "finite number" in fields["metrics.e_seconds.buckets[1]"]
    assert "only a histogram has buckets" in fields["metrics.c_total"]
    assert "['queu']" in fields["metrics.c_total"]
    assert "not a valid Prometheus label name" in fields["metrics.d.labels[0]"]
    assert "bool" in fields["metrics.d.in_spec"].lower()
    assert "§" in fields["metrics.d.spec_ref"]  # the pattern names the § form


def test_problems_of_all_three_files_are_reported_together(tmp_path: Path) -> None:
    folder = copy_catalog(
        tmp_path,
        metrics=("type: counter", "type: counterr"),
        slos=("objective: 99.5%", "objective: 99.5"),
        alerts=("for: 10m", "for: 10 minutes"),
    )
    files = {Path(p.file).name: p.field for p in problems_of(folder)}
    assert files == {
        "metrics.yaml": "metrics.http_request_count.type",
        "slos.yaml": "slos[0].objective",
        "alerts.yaml": "alerts[2].for",
    }


# -- harness.spec.files: paths as the user wrote them -------------------------------------

FAULT = {"name": "proxy", "kind": "latency", "latency_ms": "x"}


@pytest.mark.parametrize(
    ("loc", "missing", "path"),
    [
        (("alerts", 0, "for"), False, "alerts[0].for"),
        (("faults", 0, "latency", "latency_ms"), False, "faults[0].latency_ms"),  # union tag
        (("faults", 0, "latency"), False, "faults[0]"),  # a member's model-level error
        (("faults", 0, "latency", "proxy"), True, "faults[0].proxy"),  # missing, though a value
        (("load", "mix", "studio_delete", "[key]"), False, "load.mix.studio_delete"),
        ((), False, "(root)"),
    ],
)
def test_field_path(loc: tuple[int | str, ...], missing: bool, path: str) -> None:
    data = {
        "alerts": [{"for": "5x"}],
        "faults": [FAULT],
        "load": {"mix": {"studio_delete": 1}},
    }
    assert field_path(loc, data, missing=missing) == path


def test_one_broken_metric_does_not_hide_the_other_files_problems(tmp_path: Path) -> None:
    folder = copy_catalog(
        tmp_path,
        metrics=("buckets: [0.05,", "buckets: [0.5, 0.05,"),  # worker_job_duration_seconds
        slos=("threshold: 400ms", "threshold: 450ms"),
        alerts=('outcome="failure"}[{{window}}]', 'outcome="failed"}[{{window}}]'),
    )
    fields = by_field(problems_of(folder))
    assert "strictly increasing" in fields["metrics.worker_job_duration_seconds"]
    assert "not a bucket edge" in fields["slos[1].threshold"]  # checked against valid metrics
    assert 'outcome="failed"' in fields["alerts[5].expr"]
    # The broken metric's series stay known by name: no "not declared" noise about them.
    assert len(fields) == 3
