"""metric_label_values: each value the contract names must have a series, named when missing."""

from __future__ import annotations

from harness.checks.label_values import KIND, label_values_present, values_query
from harness.observe.prometheus import Sample
from harness.spec.catalog import load_catalog

QUEUES = ("build-requests", "ai-ingestion", "notifications", "usage-aggregation")


class FakePrometheus:
    """Answers `count by (label)` with one row per value it holds for that series."""

    def __init__(self, held: dict[tuple[str, str], tuple[str, ...]]) -> None:
        self.held = held  # (series, label) -> values present
        self.queries: list[str] = []

    def __call__(self, promql: str, at: float | None = None) -> list[Sample]:
        self.queries.append(promql)
        label = promql.split("(", 1)[1].split(")", 1)[0]
        series = promql.split('"')[1]
        return [Sample({label: v}, at or 0.0, 1.0) for v in self.held.get((series, label), ())]


def test_every_named_value_present_passes() -> None:
    metrics = load_catalog().metrics
    held = {(m.series, label): v for m in metrics.values() for label, v in m.values.items()}
    check = label_values_present("s", FakePrometheus(held), metrics, at=0.0)
    assert check.passed, check.message
    assert check.kind == KIND


def test_a_missing_queue_is_named_per_metric() -> None:
    metrics = load_catalog().metrics
    only = ["queue_depth", "dead_letter_queue_depth", "quotes_by_status"]
    queues = tuple(q for q in QUEUES if q != "notifications")
    held = {("queue_depth", "queue"): queues, ("dead_letter_queue_depth", "queue"): queues,
            ("quotes_by_status", "status"): ("draft", "sent", "signed", "rejected")}  # fmt: skip
    prom = FakePrometheus(held)
    check = label_values_present("s", prom, metrics, at=0.0, only=only)
    assert not check.passed
    assert 'queue_depth{queue="notifications"}' in check.message
    assert 'dead_letter_queue_depth{queue="notifications"}' in check.message
    assert "2 have none" in check.message
    assert values_query("queue_depth", "queue") in prom.queries
