"""The metric contract (metrics.yaml): every series the system under test must expose, with
its type, labels, closed label values, histogram buckets and the services that expose it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from harness.errors import Problem
from harness.spec.fields import LabelName, SeriesName, SpecRef, StrictModel, raise_if_any
from harness.spec.files import display_path, read_yaml, validate_data
from harness.spec.vocabulary import TARGET_LABELS, SeriesVocabulary

METRICS_FILE = "metrics.yaml"


class MetricType(StrEnum):
    """Prometheus metric types; they fix the suffix of the scraped series."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class Metric(StrictModel):
    """One metric the system under test must expose: a contract with its implementers."""

    series: SeriesName
    """Scraped series name, e.g. `http_request_count_total` for the spec's `http_request_count`
    (prometheus_client appends `_total` to counters; a histogram is named by its `_bucket`)."""
    type: MetricType
    labels: tuple[LabelName, ...]
    """Labels the series must carry (`job` and `instance` come from Prometheus, `le` from the
    histogram)."""
    spec_ref: SpecRef
    in_spec: bool = True
    """True: spec §2.2 names this metric (the key is its name there). False: a series the
    spec's alerts, SLOs or dashboards need that §2.2 does not list (`spec_ref` says which)."""
    help: str = ""
    """What the value means, as the implementers must produce it."""
    jobs: tuple[LabelName, ...] = ()
    """Services (Prometheus `job`) that expose it; empty: not pinned."""
    values: dict[LabelName, tuple[str, ...]] = {}
    """Closed sets of label values; rules selecting another value are rejected."""
    buckets: tuple[float, ...] | None = None
    """Histogram bucket edges (`le`, seconds, +Inf implied); every threshold a rule or SLO
    compares a quantile with must be one of them."""

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        problems = _suffix_problems(self.series, self.type)
        problems += _bucket_problems(self.type, self.buckets)
        unknown = sorted(set(self.values) - set(self.labels))
        if unknown:
            problems.append(f"values given for label(s) {unknown} the metric does not have")
        raise_if_any(problems)
        return self

    @property
    def family(self) -> str:
        """The name without its type suffix (`_bucket` of a histogram)."""
        if self.type is MetricType.HISTOGRAM:
            return self.series.removesuffix("_bucket")
        return self.series

    @property
    def exposed_series(self) -> tuple[str, ...]:
        """Every series name the metric produces (a histogram also has `_sum` and `_count`)."""
        if self.type is MetricType.HISTOGRAM:
            return (self.series, f"{self.family}_sum", f"{self.family}_count")
        return (self.series,)

    def series_labels(self, series: str) -> tuple[str, ...]:
        """Labels `series` (one of `exposed_series`) carries, besides `job` and `instance`."""
        return (*self.labels, "le") if series.endswith("_bucket") else self.labels


def _suffix_problems(series: str, kind: MetricType) -> list[str]:
    suffix = {MetricType.COUNTER: "_total", MetricType.HISTOGRAM: "_bucket"}.get(kind)
    if suffix and not series.endswith(suffix):
        return [f"a {kind} series must end in {suffix}: {series!r}"]
    return []


def _bucket_problems(kind: MetricType, buckets: tuple[float, ...] | None) -> list[str]:
    if kind is not MetricType.HISTOGRAM:
        return [] if buckets is None else ["only a histogram has buckets"]
    if not buckets:
        return ["a histogram must list its buckets (every threshold must be an edge)"]
    ordered = all(a < b for a, b in pairwise(buckets))
    if buckets[0] <= 0 or not ordered or not all(math.isfinite(b) for b in buckets):
        return ["buckets must be positive, finite and strictly increasing (+Inf is implied)"]
    return []


def vocabulary_of(metrics: Mapping[str, Metric]) -> SeriesVocabulary:
    """What PromQL may select from these metrics: labels, closed values, buckets."""
    labels: dict[str, frozenset[str]] = {}
    values: dict[str, dict[str, frozenset[str]]] = {}
    buckets: dict[str, tuple[float, ...]] = {}
    for metric in metrics.values():
        closed = {k: frozenset(v) for k, v in metric.values.items()}
        if metric.jobs:
            closed["job"] = frozenset(metric.jobs)
        for series in metric.exposed_series:
            labels[series] = frozenset(metric.series_labels(series)) | TARGET_LABELS
            values[series] = closed
        if metric.buckets is not None:
            buckets[metric.series] = metric.buckets
    return SeriesVocabulary(labels, values, buckets)


class MetricsFile(StrictModel):
    """Shape of metrics.yaml: metric name (the spec's, where it names one) -> contract."""

    metrics: dict[SeriesName, Metric] = Field(min_length=1)


def load_metrics(
    path: Path,
) -> tuple[MetricsFile | None, SeriesVocabulary | None, list[Problem]]:
    """metrics.yaml and the vocabulary the other files are checked against."""
    data, problems = read_yaml(path)
    if data is None and problems:
        return None, None, problems
    metrics, more = validate_data(MetricsFile, data, display_path(path))
    problems += more
    if metrics is not None and not problems:
        return metrics, vocabulary_of(metrics.metrics), problems
    return None, _partial_vocabulary(data), problems


def _partial_vocabulary(data: object) -> SeriesVocabulary | None:
    """The contract as far as it is valid, so the other files' problems show in the same run:
    valid metrics in full, invalid ones by series name only (their labels go unchecked)."""
    entries: Any = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return None
    valid: dict[str, Metric] = {}
    loose: set[str] = set()
    for key, raw in entries.items():
        try:
            valid[str(key)] = Metric.model_validate(raw)
        except ValidationError:
            series = raw.get("series") if isinstance(raw, dict) else None
            if isinstance(series, str):
                family = series.removesuffix("_bucket")
                loose |= {series, f"{family}_sum", f"{family}_count"}
    vocabulary = vocabulary_of(valid)
    return vocabulary.merged(SeriesVocabulary({}, {}, {}, open_series=frozenset(loose)))
