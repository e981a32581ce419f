"""latency_buckets and the label-cause messages, against a stand-in Prometheus."""

from __future__ import annotations

import re

from harness.checks.buckets import latency_buckets, latency_thresholds
from harness.checks.label_cause import missing_label
from harness.observe.prometheus import Sample
from harness.spec.catalog import load_catalog

HISTOGRAM = "http_request_duration_seconds_bucket"
SPEC_EDGES = (0.1, 0.25, 0.4, 0.5, 0.6, 0.8, 1.0, 2.0, 2.5)
DEFAULT_EDGES = (0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)


def _edges_query(edges: tuple[float, ...]):  # type: ignore[no-untyped-def]
    def query(promql: str, at: float | None = None) -> list[Sample]:
        assert promql.startswith("count by (le)") and HISTOGRAM in promql
        return [Sample({"le": f"{e}"}, 0.0, 1.0) for e in (*edges, float("inf"))]

    return query


def test_the_catalogue_s_latency_thresholds_are_found() -> None:
    catalog = load_catalog()
    found = {(t.owner, t.threshold_s) for t in latency_thresholds(catalog.slos, catalog.alerts)}
    assert ("SLO studio-api-read-latency", 0.4) in found
    assert ("alert ApiHighLatencyP95", 2.0) in found
    assert len(found) == 5


def test_edges_at_every_threshold_pass() -> None:
    catalog = load_catalog()
    thresholds = latency_thresholds(catalog.slos, catalog.alerts)
    assert latency_buckets("s", _edges_query(SPEC_EDGES), thresholds, 0.0).passed


def test_default_buckets_fail_naming_metric_and_threshold() -> None:
    catalog = load_catalog()
    thresholds = latency_thresholds(catalog.slos, catalog.alerts)
    check = latency_buckets("s", _edges_query(DEFAULT_EDGES), thresholds, 0.0)
    assert not check.passed and check.kind == "latency_buckets"
    assert f"{HISTOGRAM}: threshold 0.4 s of SLO studio-api-read-latency" in check.message
    assert "2 s of alert ApiHighLatencyP95" in check.message
    assert "1 s of SLO admin-api-write-latency" not in check.message  # 1 s is an edge


def _series_without(label: str):  # type: ignore[no-untyped-def]
    def query(promql: str, at: float | None = None) -> list[Sample]:
        if re.search(rf'{label}!=""', promql):
            return []
        return [Sample({}, 0.0, 12.0)]

    return query


def test_a_missing_label_is_named_with_its_metric() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le) (rate("
        f'{HISTOGRAM}{{job="edge", route=~"/v1/admin/.*", method="GET"}}[5m])))'
    )
    cause = missing_label(_series_without("route"), expr, 0.0)
    assert cause is not None
    assert f"metric {HISTOGRAM} has no label `route`" in cause
    assert "no requests" not in cause
    assert missing_label(_series_without("tenant"), expr, 0.0) is None
    assert missing_label(_series_without("tenant"), expr, 0.0, grouped_by=["tenant"]) is not None


def test_a_label_grouped_by_is_named_too() -> None:
    expr = 'sum by (route) (rate(http_request_count_total{job="edge"}[5m]))'
    cause = missing_label(_series_without("route"), expr, 0.0)
    assert cause is not None and "metric http_request_count_total has no label `route`" in cause
    by_le = f'sum by (le) (rate({HISTOGRAM}{{job="edge"}}[5m]))'
    assert missing_label(_series_without("le"), by_le, 0.0) is None  # `le` is the bucket's own
