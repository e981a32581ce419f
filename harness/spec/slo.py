"""The SLOs of spec §3 as typed data, and the verdicts computed from what a run measured.

`scenarios/catalog/slos.yaml` holds every SLO at its real values. Three kinds:

- availability: an objective (99.5 %) over a period (30 days) and two PromQL templates, the
  number of requests and of failed ones in a window (`[{{window}}]`). Their ratio is the error
  ratio the burn-rate alerts record and compare with the error budget (1 - objective).
- latency: a quantile (95 %) of a request-duration histogram below a threshold (400 ms). The
  threshold must be a bucket edge of the histogram (checked against metrics.yaml), because
  only then does a histogram decide "at least 95 % of requests took <= 400 ms" exactly; between
  edges `histogram_quantile` interpolates and can be off by a whole bucket.
- async: a percentile of end-to-end delays measured in Postgres (`job_runs`, `run_events`)
  by an SQL query kept in the YAML; a row whose work never finished counts as a miss.

Time scale. Request latencies are never scaled (400 ms is 400 ms at any scale: the services
really answer that fast or not). Availability is a ratio of counts and has nothing to scale.
Async thresholds ARE divided by the run's time scale, because what they bound is mostly
waiting (queues, polling, retries, batching), which the system under test compresses by the
same factor: a run at scale 60 checks "95 % of build jobs within 5 min" as within 5 s, "run
events stored within 30 s" as within 0.5 s and "notifications within 60 s" as within 1 s. The
real work inside (a database insert, an HTTP call) is not compressed, so a very large scale
ends up measuring CPU speed, not the pipeline: 30 s at scale 600 leaves 50 ms.

The verdicts themselves (pure functions) are in `harness.spec.slo_verdicts`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from harness.errors import Problem
from harness.spec.fields import Percent, PositiveSeconds, Slug, SpecRef, StrictModel
from harness.spec.files import display_path, read_yaml, validate_data
from harness.spec.slo_verdicts import (
    AsyncResult,
    AvailabilityResult,
    async_result,
    availability,
    latency_held,
)
from harness.spec.templates import literal_duration, placeholders, render_template
from harness.spec.timescale import PRODUCTION_SCALE, format_duration
from harness.spec.vocabulary import SeriesVocabulary, context_vocabulary, vocabulary_problems

SLOS_FILE = "slos.yaml"
WINDOW = "window"
_SQL_TABLE = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_SQL_LATENCY_COLUMN = re.compile(r"\bAS\s+latency_s\b", re.IGNORECASE)

Identifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]


def _template_problems(
    template: str, vocabulary: SeriesVocabulary | None, subject: str
) -> list[str]:
    """A PromQL template of an SLO: one `{{window}}` placeholder, nothing literal, known series."""
    used = placeholders(template)
    problems = [] if WINDOW in used else ["must use the window placeholder, e.g. [{{window}}]"]
    if used - {WINDOW}:
        problems.append(f"unknown placeholder(s) {sorted(used - {WINDOW})}; only {{{{window}}}}")
    literal = literal_duration(template)
    if literal:
        problems.append(f"literal duration {literal!r} would not be time-scaled; use [{{window}}]")
    return problems + vocabulary_problems(template, vocabulary, subject=subject)


class _Slo(StrictModel):
    """Fields every SLO has."""

    name: Slug
    """Unique, e.g. `studio-api-availability`."""
    spec_ref: SpecRef
    service: str = Field(min_length=1)
    """What the SLO is about, as the spec names it (`Studio API`, `Build Orchestration`)."""
    description: str = Field(min_length=1)


class AvailabilitySlo(_Slo):
    """Share of requests that must not fail (5xx) over `period`."""

    kind: Literal["availability"]
    objective: Percent
    """E.g. 99.5 %: the error budget is the rest, 0.5 % of requests."""
    period_s: PositiveSeconds = Field(alias="period")
    """The SLO period ("monthly": 30d); burn-rate factors are relative to it."""
    total: str
    """PromQL: requests in `[{{window}}]`, one series (e.g. `sum(increase(...))`)."""
    errors: str
    """PromQL: failed requests in `[{{window}}]`, one series."""

    @field_validator("objective")
    @classmethod
    def _leaves_a_budget(cls, objective: float) -> float:
        if objective >= 1:
            raise ValueError("an objective of 100% leaves no error budget")
        return objective

    @field_validator("total", "errors")
    @classmethod
    def _check_template(cls, template: str, info: ValidationInfo) -> str:
        subject = f"SLO {info.data.get('name', '?')} {info.field_name}"
        problems = _template_problems(template, context_vocabulary(info), subject)
        if problems:
            raise ValueError("; ".join(problems))
        return template

    @property
    def error_budget(self) -> float:
        """1 - objective, without float noise (0.005, not 0.0050000000000000044)."""
        return round(1 - self.objective, 12)

    def total_at(self, window_s: float) -> str:
        """The request-count query over a window of `window_s` seconds."""
        return render_template(self.total, {WINDOW: window_s}, PRODUCTION_SCALE)

    def errors_at(self, window_s: float) -> str:
        """The failed-request query over a window of `window_s` seconds."""
        return render_template(self.errors, {WINDOW: window_s}, PRODUCTION_SCALE)

    def error_ratio_at(self, window_s: float) -> str:
        """Failed / total over the window; 0 (not "no data") when requests came and none failed."""
        return f"({self.errors_at(window_s)} or vector(0)) / {self.total_at(window_s)}"

    def burn_rate(self, budget_consumed: float, window_s: float) -> float:
        """Burn-rate factor at which `budget_consumed` of the period's budget goes in `window_s`.

        The SRE workbook's numbers for a 30-day period: 2 % in 1h = 14.4, 5 % in 6h = 6,
        10 % in 3d = 1.
        """
        return round(budget_consumed * self.period_s / window_s, 6)

    def verdict(self, total: float, errors: float) -> AvailabilityResult:
        """Availability of `total` requests with `errors` failures against the objective."""
        return availability(total, errors, self.objective)


class LatencySlo(_Slo):
    """A quantile of a request-duration histogram under a threshold; never time-scaled."""

    kind: Literal["latency"]
    histogram: str
    """The `_bucket` series, e.g. `http_request_duration_seconds_bucket`."""
    selector: str
    """Label matchers without braces: `job="edge", route=~"/v1/admin/.*", method="GET"`."""
    quantile: Percent
    """E.g. 95 % for p95."""
    threshold_s: PositiveSeconds = Field(alias="threshold")
    """Must be a bucket edge of `histogram` (metrics.yaml `buckets`)."""

    @field_validator("histogram")
    @classmethod
    def _is_a_histogram(cls, histogram: str, info: ValidationInfo) -> str:
        vocabulary = context_vocabulary(info)
        known = set(vocabulary.buckets) | vocabulary.open_series if vocabulary else {histogram}
        if histogram not in known:
            raise ValueError(f"{histogram!r} is not a histogram _bucket series of metrics.yaml")
        return histogram

    @field_validator("selector")
    @classmethod
    def _known_labels(cls, selector: str, info: ValidationInfo) -> str:
        histogram = info.data.get("histogram")
        if histogram is not None:  # None: invalid, already reported
            subject = f"SLO {info.data.get('name', '?')} selector"
            vocabulary = context_vocabulary(info)
            query = f"{histogram}{{{selector}}}"
            problems = vocabulary_problems(query, vocabulary, subject=subject)
            if problems:
                raise ValueError("; ".join(problems))
        return selector

    @field_validator("quantile")
    @classmethod
    def _below_one(cls, quantile: float) -> float:
        if quantile >= 1:
            raise ValueError("a latency quantile must be below 100%")
        return quantile

    @field_validator("threshold_s")
    @classmethod
    def _is_a_bucket_edge(cls, threshold_s: float, info: ValidationInfo) -> float:
        vocabulary = context_vocabulary(info)
        edges = vocabulary.buckets.get(info.data.get("histogram", "")) if vocabulary else None
        if edges is not None and not any(math.isclose(threshold_s, e) for e in edges):
            raise ValueError(
                f"{threshold_s:g} s is not a bucket edge of {info.data['histogram']} "
                f"({', '.join(f'{e:g}' for e in edges)}): the quantile would be interpolated "
                "inside a bucket"
            )
        return threshold_s

    @property
    def quantile_template(self) -> str:
        """histogram_quantile over `[{{window}}]`."""
        rate = f"rate({self.histogram}{{{self.selector}}}[{{{{{WINDOW}}}}}])"
        return f"histogram_quantile({self.quantile:g}, sum by (le) ({rate}))"

    def quantile_at(self, window_s: float) -> str:
        """PromQL of the observed quantile over a window of `window_s` seconds."""
        return render_template(self.quantile_template, {WINDOW: window_s}, PRODUCTION_SCALE)

    def within_threshold_at(self, window_s: float) -> str:
        """PromQL of the share of requests within the threshold (exact: a bucket edge)."""
        w = f"[{format_duration(window_s)}]"
        le = _le_regex(self.threshold_s)
        within = f'sum(rate({self.histogram}{{{self.selector}, le=~"{le}"}}{w}))'
        total = f'sum(rate({self.histogram}{{{self.selector}, le="+Inf"}}{w}))'
        return f"{within} / {total}"

    def held(self, observed_s: float) -> bool:
        """Whether the observed quantile is within the threshold (see `latency_held`)."""
        return latency_held(observed_s, self.threshold_s)


def _le_regex(edge: float) -> str:
    """`le` as client libraries print it: Go writes `1`, Python `1.0`; match both."""
    forms = sorted({f"{edge:g}", repr(float(edge))})
    return "|".join(re.escape(f).replace("\\", "\\\\") for f in forms)


class AsyncSlo(_Slo):
    """A percentile of end-to-end delays measured in Postgres; the threshold is time-scaled."""

    kind: Literal["async"]
    percentile: Percent
    """Share of items that must finish within the threshold; 100 % = every one."""
    threshold_s: PositiveSeconds = Field(alias="threshold")
    """REAL scale; divided by the run's time scale (`threshold_at`)."""
    clock_starts: str = Field(min_length=1)
    """Column where the delay starts, e.g. `job_runs.enqueued_at`."""
    clock_stops: str = Field(min_length=1)
    """Column where it stops, e.g. `job_runs.finished_at`."""
    sql: str
    """One row per item with its delay as `latency_s` (NULL: never finished); `$1` and `$2`
    bound the start of the items (timestamptz, half-open [$1, $2))."""

    @field_validator("sql")
    @classmethod
    def _check_sql(cls, sql: str) -> str:
        problems = [f"must use parameter {p}" for p in ("$1", "$2") if p not in sql]
        if not _SQL_LATENCY_COLUMN.search(sql):
            problems.append("must return the delay as a column named latency_s (AS latency_s)")
        if problems:
            raise ValueError("; ".join(problems))
        return sql

    @property
    def tables(self) -> frozenset[str]:
        """Tables the query reads (FROM / JOIN)."""
        return frozenset(t.lower() for t in _SQL_TABLE.findall(self.sql))

    def threshold_at(self, scale: float) -> float:
        """The threshold a run at `scale` checks: 5 min at scale 60 is 5 s."""
        if not scale > 0:
            raise ValueError(f"time scale must be positive, got {scale}")
        return self.threshold_s / scale

    def verdict(
        self, latencies_s: Sequence[float | None], scale: float, expected: int | None = None
    ) -> AsyncResult:
        """Judge measured delays (seconds, as measured) against the scaled threshold."""
        return async_result(latencies_s, self.percentile, self.threshold_at(scale), expected)


Slo = Annotated[AvailabilitySlo | LatencySlo | AsyncSlo, Field(discriminator="kind")]


class SlosFile(StrictModel):
    """Shape of slos.yaml: the tables async SLOs read, and the SLOs."""

    tables: dict[Identifier, dict[Identifier, str]] = {}
    """Postgres tables the system under test keeps (name -> column -> SQL type): a contract."""
    slos: tuple[Slo, ...] = Field(min_length=1)


def load_slos(
    path: Path, vocabulary: SeriesVocabulary | None
) -> tuple[SlosFile | None, list[Problem]]:
    """Read and validate slos.yaml; the file (if valid) and every problem found."""
    data, problems = read_yaml(path)
    if data is None and problems:
        return None, problems
    file = display_path(path)
    problems += _duplicate_names(file, data)
    slos, more = validate_data(SlosFile, data, file, {"vocabulary": vocabulary})
    problems += more
    if slos is not None:
        problems += _table_problems(file, slos)
    return (slos if not problems else None), problems


def _duplicate_names(file: str, data: object) -> list[Problem]:
    """Checked on the raw data so it is reported even when other fields are invalid."""
    items: Any = data.get("slos") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    names = [n if isinstance(n, str) else None for n in names]  # others are reported as types
    twice = {n for n, c in Counter(n for n in names if n is not None).items() if c > 1}
    return [
        Problem(file, f"slos[{i}].name", f"duplicate SLO name {n!r}")
        for i, n in enumerate(names)
        if n in twice and names.index(n) != i
    ]


def _table_problems(file: str, slos: SlosFile) -> list[Problem]:
    """Async queries may read only the tables the file declares."""
    declared: Mapping[str, object] = slos.tables
    problems = []
    for i, slo in enumerate(slos.slos):
        unknown = sorted(slo.tables - set(declared)) if isinstance(slo, AsyncSlo) else []
        if unknown:
            reason = f"reads undeclared table(s) {unknown}; declared: {sorted(declared)}"
            problems.append(Problem(file, f"slos[{i}].sql", reason))
    return problems
