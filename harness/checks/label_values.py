"""metric_label_values: every label value the contract names has a series in the healthy baseline.

metrics_present proves a metric has a series carrying its labels; it cannot tell that a queue,
a quote status or a health status is missing. A dashboard grouped `by (queue)` then simply has
one row fewer, and an alert on that queue's depth can never fire. So each closed value set of
metrics.yaml (`values`: the spec's four queues, quote and health statuses, WRK Platform calls,
webhook failure reasons) is read back from Prometheus, one query per metric and label:

    count by (<label>) ({__name__="<series>"})

and every value without a series is named, as `series{label="value"}`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from harness.checks.results import Check
from harness.errors import ObserveError
from harness.observe.metrics_presence import InstantQuery
from harness.spec.metrics import Metric

KIND = "metric_label_values"


def values_query(series: str, label: str) -> str:
    """Names come from the validated catalogue, never from input."""
    return f'count by ({label}) ({{__name__="{series}"}})'


def missing_values(query: InstantQuery, metric: Metric, at: float) -> list[str]:
    """`series{label="value"}` for each named value without a series at `at`."""
    missing = []
    for label, values in metric.values.items():
        seen = {s.labels.get(label) for s in query(values_query(metric.series, label), at)}
        missing += [f'{metric.series}{{{label}="{v}"}}' for v in values if v not in seen]
    return missing


def label_values_present(
    scenario: str,
    query: InstantQuery,
    metrics: Mapping[str, Metric],
    *,
    at: float,
    only: Iterable[str] | None = None,
) -> Check:
    """Every closed label value of every catalogued metric (or of those in `only`) has a
    series at `at`."""
    names = list(metrics) if only is None else [n for n in only if n in metrics]
    closed = {n: metrics[n] for n in names if metrics[n].values}
    count = sum(len(v) for m in closed.values() for v in m.values.values())
    try:
        missing = [m for metric in closed.values() for m in missing_values(query, metric, at)]
    except ObserveError as exc:
        return Check.of(scenario, KIND, False, f"Prometheus could not be read: {exc}")
    when = time.strftime("%H:%M:%SZ", time.gmtime(at))
    expected = (
        f"expected each of {count} label values the contract names ({len(closed)} metrics) "
        f"to have a series at {when}"
    )
    if not missing:
        return Check.of(scenario, KIND, True, f"{expected}; all have")
    return Check.of(
        scenario, KIND, False, f"{expected}; {len(missing)} have none: {', '.join(missing)}"
    )
