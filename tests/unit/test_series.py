"""Series capture: one step for all specs, failures kept per spec, windows compared by time."""

from __future__ import annotations

from harness.errors import ObserveError
from harness.observe.series import MAX_POINTS, SeriesCapture, SeriesPoints, SeriesSpec
from harness.spec.catalog import load_catalog


class FakeRange:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def query_range(
        self, promql: str, start: float, end: float, step_s: float
    ) -> list[SeriesPoints]:
        self.calls.append((promql, step_s))
        if promql == "broken(":
            raise ObserveError("parse error")
        return [SeriesPoints({"job": "edge"}, ((start, 1.0), (end, 3.0)))]


def test_every_spec_is_read_with_a_step_fitting_the_point_limit() -> None:
    source = FakeRange()
    specs = [SeriesSpec("a", "A", "up", "panel"), SeriesSpec("b", "B", "broken(", "panel")]
    good, bad = SeriesCapture(source, min_step_s=1.0).capture(
        specs, 1000.0, 1000.0 + 6 * MAX_POINTS
    )
    assert [c[1] for c in source.calls] == [6.0, 6.0]
    assert not good.empty and good.values_between(1000.0, 1001.0) == [1.0]
    assert bad.empty and bad.error is not None and "parse error" in bad.error


def test_short_scenarios_use_the_minimum_step() -> None:
    source = FakeRange()
    SeriesCapture(source, min_step_s=2.0).capture([SeriesSpec("a", "A", "up", "alert")], 0.0, 10.0)
    assert source.calls == [("up", 2.0)]


def test_alert_signals_drop_the_final_comparison_and_keep_the_threshold() -> None:
    catalog = load_catalog()
    expr, threshold = catalog.alert("ApiHigh5xxRate").signal_at(60)
    assert threshold == 0.01 and ">" not in expr and expr.startswith("sum(rate(http_5xx")
    assert catalog.alert("QueueDepthHigh").signal_at(1) == ("max by (queue) (queue_depth)", 1000.0)
    silent, none = catalog.alert("RunEventsSilent").signal_at(60)
    assert none is None and "unless" in silent  # not a plain comparison: kept whole


def test_burn_rate_alerts_plot_their_error_ratio() -> None:
    expr, _ = load_catalog().alert("StudioApiErrorBudgetFastBurn").signal_at(60)
    assert expr == 'slo:errors_per_request:ratio_rate1m{slo="studio-api-availability"}'
