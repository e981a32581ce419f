"""The catalogue models and loader (harness.catalog), with harness.validation's reporting."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.catalog import (
    DEFAULT_CATALOG_DIR,
    Alert,
    Catalog,
    Receiver,
    Severity,
    load_catalog,
    referenced_series,
)
from harness.errors import ConfigError, Problem
from harness.timescale import Timing
from harness.validation import field_path

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


def write_catalog(tmp_path: Path, alerts: object, metrics_text: str | None = None) -> Path:
    """A catalogue folder with the real metrics.yaml (or `metrics_text`) and these alerts."""
    folder = tmp_path / "catalog"
    folder.mkdir()
    if metrics_text is None:
        shutil.copy(DEFAULT_CATALOG_DIR / "metrics.yaml", folder / "metrics.yaml")
    else:
        (folder / "metrics.yaml").write_text(metrics_text)
    text = alerts if isinstance(alerts, str) else yaml.safe_dump({"alerts": alerts})
    (folder / "alerts.yaml").write_text(text)
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
        assert referenced_series(alert.expr) <= catalog.known_series


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
        ("rate(a_total[{{window}}]) > 1e-3 and bool 1", {"a_total"}),
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
    assert files == {"metrics.yaml", "alerts.yaml"}
    fields = by_field(problems)
    assert "must end in _total" in fields["metrics.http_request_count"]
    assert fields["alerts[0].summary"] == "required field is missing"
    assert fields["alerts[0].for"] == "required field is missing"


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


# -- harness.validation: paths as the user wrote them -------------------------------------

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
