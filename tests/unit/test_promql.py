"""PromQL read by a parser: syntax errors with their position, and the walks the checks use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from harness.spec import promql
from harness.spec.promql import PromQLError, comparisons, durations, metric_name, parse, selectors
from harness.spec.templates import literal_duration, parse_template
from harness.stack import tools
from tests.unit.test_catalog import alert_data, by_field, problems_of, write_catalog

needs_promtool = pytest.mark.skipif(tools.find("promtool") is None, reason="needs promtool")


@needs_promtool
@pytest.mark.parametrize(
    ("expr", "column", "reason"),
    [
        ("sum(rate(x[5m]) > 1", 20, "unclosed left parenthesis"),
        ("rate(x[5m]) +", 14, "unexpected end of input"),
        ("rate(x)", 6, "expected type range vector"),
    ],
)
def test_a_syntax_error_names_its_column(expr: str, column: int, reason: str) -> None:
    with pytest.raises(PromQLError) as info:
        parse(expr)
    assert (info.value.line, info.value.column) == (1, column)
    assert str(info.value).startswith(f"PromQL syntax error at column {column}: {reason}")


def test_without_promtool_the_reason_stands_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(promql, "find", lambda name: None)
    with pytest.raises(PromQLError) as info:
        parse("sum(rate(x[5m]) > 1")
    assert info.value.column is None
    assert str(info.value) == "PromQL syntax error: unclosed left parenthesis"


@needs_promtool
def test_template_columns_are_the_templates_own() -> None:
    """Placeholders are filled with durations of their own length, so columns still match."""
    with pytest.raises(PromQLError) as info:
        parse_template("sum(rate(x[{{window}}]) > 1")
    assert info.value.column == len("sum(rate(x[{{window}}]) > 1") + 1


@needs_promtool
def test_an_alert_that_is_not_promql_is_named_with_the_position(tmp_path: Path) -> None:
    broken = 'sum(rate(http_5xx_count_total{job="edge"}[{{window}}]) > 0.01'
    folder = write_catalog(tmp_path, [alert_data(name="ApiHigh5xxRate", expr=broken)])
    reason = by_field(problems_of(folder))["alerts[0].expr"]
    assert reason == (
        f"alert ApiHigh5xxRate: PromQL syntax error at column {len(broken) + 1}: "
        "unclosed left parenthesis"
    )


def test_walks_find_selectors_durations_and_thresholds() -> None:
    expr = parse(
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{route="/x"}[5m] offset 1m)))'
        ' > 0.4 and 2 < abs(max_over_time({__name__="b"}[30m:1m]))'
    )
    assert [metric_name(s) for s in selectors(expr)] == ["a_bucket", "b"]
    assert [(d.kind, d.value) for d in durations(expr)] == [
        ("range", timedelta(minutes=5)),
        ("offset", timedelta(minutes=1)),
        ("subquery_range", timedelta(minutes=30)),
        ("subquery_step", timedelta(minutes=1)),
    ]
    assert [(c.function, c.op, c.threshold) for c in comparisons(expr)] == [
        ("histogram_quantile", ">", 0.4),
        ("abs", "<", 2.0),
    ]


@pytest.mark.parametrize(
    ("template", "literal"),
    [
        ("rate(x[{{window}}]) > 1", None),
        ("rate(x[5m]) > 1", "5m"),
        ("rate(x[{{window}}] offset 1h)", "1h"),
        ("max_over_time(x[{{window}}:30s])", "30s"),
        ('sum(x{route="/v1/5m"})', None),  # a duration inside a string is no duration
        ("rate(x[$__rate_interval])", None),
    ],
)
def test_literal_durations_are_found_in_the_tree(template: str, literal: str | None) -> None:
    assert literal_duration(template, ["$__rate_interval"]) == literal
