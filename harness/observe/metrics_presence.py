"""Is every metric of the catalogue really in Prometheus, with the labels the spec needs?

An alert or a dashboard over a series that does not exist, or that lacks the label it groups
by, is silently empty: `sum by (route) (...)` over series without `route` gives one row with
no route, and an alert on it never fires. So, for each catalogued metric, one query:

    count by (<required labels>) ({__name__="<series>"})

Each result row is one combination of the required labels' values; Prometheus omits a label
that a series lacks (or has empty), so a row carrying every required label proves at least
one series has them all. Only when a metric fails is a second query made, for one example
series with all its labels, so the message can show what the series carry instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from harness.observe.prometheus import Sample
from harness.spec.metrics import Metric

JOB_LABEL = "job"
_TARGET_LABELS = frozenset({"__name__", JOB_LABEL, "instance"})


class InstantQuery(Protocol):
    """An instant PromQL query at `at` (unix seconds): `PrometheusClient.query` fits."""

    def __call__(self, promql: str, at: float | None = None) -> list[Sample]: ...


@dataclass(frozen=True)
class MetricPresence:
    """What Prometheus holds of one catalogued metric at one instant."""

    metric: str  # the catalogue's (spec's) name
    series: str  # the series queried (a histogram's `_bucket`)
    required: tuple[str, ...]
    rows: int  # label combinations found (0: no series at all)
    complete_rows: int  # combinations carrying every required label
    missing_labels: tuple[str, ...]  # required labels no series carries
    example_labels: tuple[str, ...]  # labels of one series, when some are missing
    missing_jobs: tuple[str, ...]  # jobs expected to expose it that do not

    @property
    def present(self) -> bool:
        return self.rows > 0

    @property
    def ok(self) -> bool:
        return self.complete_rows > 0 and not self.missing_jobs


def count_query(series: str, labels: Iterable[str]) -> str:
    """`count by (labels) (...)`; names come from the validated catalogue, never from input."""
    return f'count by ({", ".join(labels)}) ({{__name__="{series}"}})'


def example_query(series: str) -> str:
    return f'topk(1, {{__name__="{series}"}})'


def probe_metric(
    query: InstantQuery,
    name: str,
    metric: Metric,
    at: float,
    jobs: Collection[str] | None = None,
) -> MetricPresence:
    """Probe one metric. `jobs`: the jobs the target scrapes; a metric pinned to some of them
    (`Metric.jobs`) must be exposed by each (None: do not check per job)."""
    series = metric.series
    required = metric.series_labels(series)
    expected_jobs = sorted(set(metric.jobs) & set(jobs)) if jobs is not None else []
    group = (*required, JOB_LABEL) if expected_jobs else required
    rows = query(count_query(series, group), at)
    complete = [r for r in rows if all(r.labels.get(label) for label in required)]
    seen = {label for r in rows for label, value in r.labels.items() if value}
    missing = tuple(label for label in required if label not in seen)
    exposing = {r.labels.get(JOB_LABEL) for r in complete}
    missing_jobs = tuple(j for j in expected_jobs if j not in exposing)
    example: tuple[str, ...] = ()
    if rows and not complete:
        samples = query(example_query(series), at)
        if samples:
            example = tuple(sorted(set(samples[0].labels) - _TARGET_LABELS))
    return MetricPresence(
        metric=name,
        series=series,
        required=required,
        rows=len(rows),
        complete_rows=len(complete),
        missing_labels=missing,
        example_labels=example,
        missing_jobs=missing_jobs,
    )


def probe_catalog(
    query: InstantQuery,
    metrics: Mapping[str, Metric],
    at: float,
    only: Iterable[str] | None = None,
    jobs: Collection[str] | None = None,
) -> list[MetricPresence]:
    """Probe every catalogued metric (or those named in `only`), in catalogue order.

    KeyError names a metric of `only` that the catalogue does not have.
    """
    names = list(metrics) if only is None else list(only)
    unknown = [n for n in names if n not in metrics]
    if unknown:
        raise KeyError(f"not in the metrics catalogue: {unknown}")
    return [probe_metric(query, n, metrics[n], at, jobs) for n in names]
