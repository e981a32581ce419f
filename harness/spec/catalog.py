"""The catalogue: what the specification promises, as typed, validated data.

Files in `scenarios/catalog/`, one source of truth for every alert, SLO and dashboard:

- `metrics.yaml`: the metric contract: every series the system under test must expose, with
  its type, labels, closed label values, histogram buckets and which services expose it;
- `slos.yaml`: the SLOs of spec §3 (see `harness.spec.slo`);
- `alerts.yaml`: the alerts of spec §5 at their REAL durations, each with its severity,
  receiver and promtool test inputs; plus `burn_rate_alerts`, the multiwindow multi-burn-rate
  alerts of the availability SLOs, whose expressions are generated from the SLO (objective,
  period, error-ratio queries) so the objective is written once.
- `dashboards.yaml` (optional): the dashboards of spec §4, checked against the same metric
  contract (see `harness.dashboards`).

The harness renders Prometheus rules from these at any time scale (see `harness.spec.rules`) and
computes every alert's budget from the same numbers, so the catalogue is the single source.

Range windows in an alert's `expr` are written as placeholders, `[{{window}}]`, filled from
the alert's `window` (and optional named `windows`). Why placeholders rather than rewriting
every `[5m]` literal by regex: the window the budget uses is then, by construction, the one in
the expression; a named window can be checked (declared, used); and the expression stays free
of PromQL-parsing heuristics. A literal duration left in `expr` would silently stay unscaled,
so it is rejected. `window` is the window that must FILL before a step fault can fire the
alert, so the budget waits for it; an alert without one (a gauge held `for` a while, a
look-back that reacts at once) declares only named `windows`, or none.

Each alert runs at the run's time scale unless it opts into compression (`test_scale:
compress`, see `harness.spec.timescale`): `Alert.effective_scale(timing)` is the one number its
rules, its budget and its scaled promtool tests all use.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.dashboards.load import DASHBOARDS_FILE, load_dashboards
from harness.dashboards.model import DashboardsFile
from harness.errors import ConfigError, Problem
from harness.spec.files import (
    TARGET_LABELS,
    Percent,
    PositiveSeconds,
    Seconds,
    SeriesVocabulary,
    SpecRef,
    StrictModel,
    context_vocabulary,
    display_path,
    literal_duration,
    placeholders,
    read_yaml,
    referenced_series,
    render_template,
    validate_data,
    vocabulary_problems,
)
from harness.spec.slo import SLOS_FILE, AvailabilitySlo, Slo, load_slos
from harness.spec.timescale import (
    AlertBudget,
    Timing,
    budget,
    compressed_scale,
    format_duration,
    parse_duration,
)

__all__ = [  # the public API; referenced_series and SLOS_FILE are re-exported for callers
    "ALERTS_FILE",
    "DEFAULT_CATALOG_DIR",
    "MAIN_WINDOW",
    "METRICS_FILE",
    "RECORDED_RATIO",
    "SLOS_FILE",
    "SLO_LABEL",
    "Alert",
    "AlertCase",
    "AlertTest",
    "BurnRateAlert",
    "BurnRateAlertSpec",
    "BurnWindow",
    "Catalog",
    "InputSeries",
    "Metric",
    "MetricType",
    "PromtoolCase",
    "Receiver",
    "RecordedRatio",
    "ScalePolicy",
    "Severity",
    "load_catalog",
    "recorded_vocabulary",
    "referenced_series",
    "vocabulary_of",
]

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "catalog"
ALERTS_FILE = "alerts.yaml"
METRICS_FILE = "metrics.yaml"

MAIN_WINDOW = "window"
# Labels and annotations the renderer sets itself; an alert may not override them.
RESERVED_LABELS = frozenset({"alertname", "severity", "receiver"})
RESERVED_ANNOTATIONS = frozenset({"summary", "spec_ref"})
# Recording rules of the SLO error ratios, one series per SLO (label `slo`) and window. The
# window in the name is the window actually computed, e.g. `ratio_rate1h` in production and
# `ratio_rate1m` at scale 60: alerts at different effective scales that need the same
# computation share one rule, and no name claims a window it does not compute.
RECORDED_RATIO = "slo:errors_per_request:ratio_rate"
SLO_LABEL = "slo"
# promtool's default sample step at production scale: one sample a minute.
DEFAULT_TEST_INTERVAL_S = 60.0


class Severity(StrEnum):
    """Incident severities of spec §6.1."""

    SEV_1 = "SEV-1"  # platform-wide outage, key flows broken
    SEV_2 = "SEV-2"  # major feature impacted for a subset of tenants
    SEV_3 = "SEV-3"  # degraded performance, partial failures


class Receiver(StrEnum):
    """Who is notified (spec §5, §6.2); Alertmanager routes on the `receiver` label."""

    ONCALL = "oncall"
    SECURITY = "security"
    OPS_ESCALATION = "ops-escalation"


class MetricType(StrEnum):
    """Prometheus metric types; they fix the suffix of the scraped series."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class ScalePolicy(StrEnum):
    """Which time scale an alert runs at in a test run (see harness.timescale)."""

    RUN = "run"  # the run's scale, like everything else
    COMPRESS = "compress"  # as fast as its shortest window allows at the run's interval


def _label_name(name: str) -> str:
    if not name.isidentifier() or not name.isascii():
        raise ValueError(f"not a valid Prometheus label name: {name!r}")
    return name


LabelName = Annotated[str, AfterValidator(_label_name)]
SeriesName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise ValueError("; ".join(problems))


# -- metrics --------------------------------------------------------------------------------


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
        _raise_if(problems)
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


def recorded_vocabulary(slo_names: frozenset[str]) -> SeriesVocabulary:
    """The recorded error-ratio family: only generated burn-rate alerts select it."""
    return SeriesVocabulary(
        labels={RECORDED_RATIO: frozenset({SLO_LABEL})},
        values={RECORDED_RATIO: {SLO_LABEL: slo_names}},
        buckets={},
    )


# -- promtool test inputs -------------------------------------------------------------------


class InputSeries(StrictModel):
    """One promtool input series: `series` selector and `values` in promtool's notation."""

    series: str
    values: str = Field(examples=["0+100x30"])

    @field_validator("series")
    @classmethod
    def _in_contract(cls, series: str, info: ValidationInfo) -> str:
        """Inputs use the contract's series and labels, so a test cannot pass on a typo."""
        _raise_if(vocabulary_problems(series, context_vocabulary(info)))
        return series


class PromtoolCase(StrictModel):
    """Input series of one promtool unit test, at production scale, one sample per `interval`."""

    input_series: tuple[InputSeries, ...] = Field(min_length=1)


class AlertCase(PromtoolCase):
    """A further scenario for the rule: inputs, a time, and whether the alert fires then."""

    name: str = Field(min_length=1)
    at_s: Seconds = Field(alias="at")
    """When to check, production scale (e.g. `70m`)."""
    fires: bool
    output_labels: dict[LabelName, str] | None = None
    """Labels of the firing alert when they differ from the test's `output_labels`."""
    annotations: dict[str, str] | None = None
    """Rendered annotations when they differ from the test's `annotations`."""


class AlertTest(StrictModel):
    """Evidence that the rule works: traffic that must fire it and traffic that must not."""

    interval_s: PositiveSeconds = Field(default=DEFAULT_TEST_INTERVAL_S, alias="interval")
    """promtool's sample step at production scale (default 1m; the 3-day alerts use 30m)."""
    firing: PromtoolCase
    """Breaches the threshold from t=0 for at least window + `for` + 2 intervals."""
    healthy: PromtoolCase
    """Stays below the threshold; the alert must not fire."""
    cases: tuple[AlertCase, ...] = ()
    """Further cases: edges, no-data behaviour, each branch of an `or`."""
    output_labels: dict[LabelName, str] = {}
    """Labels the expression's result keeps (none after a plain `sum(...)`)."""
    annotations: dict[str, str] = {}
    """Expected rendered text of annotations that contain Go templates ({{ $value }})."""


# -- alerts ---------------------------------------------------------------------------------


class _AlertBase(StrictModel):
    """Fields every alert has, written or generated."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Prometheus `alertname`, e.g. `ApiHigh5xxRate`."""
    summary: str = Field(min_length=1)
    spec_ref: SpecRef
    """Section of the spec the alert comes from, e.g. `§5.1`."""
    severity: Severity
    receiver: Receiver
    for_s: Seconds = Field(alias="for")
    """How long the condition must hold before the alert fires (Prometheus `for`)."""
    labels: dict[LabelName, str] = {}
    annotations: dict[LabelName, str] = {}
    test_scale: ScalePolicy = ScalePolicy.RUN
    """`compress` only for alerts a run could not prove at its own scale (3-day windows)."""
    test: AlertTest
    """promtool unit-test inputs proving the rule fires and stays quiet."""

    @field_validator("labels")
    @classmethod
    def _labels_not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        _reject_reserved(labels, RESERVED_LABELS, "label")
        return labels

    @field_validator("annotations")
    @classmethod
    def _annotations_not_reserved(cls, annotations: dict[str, str]) -> dict[str, str]:
        _reject_reserved(annotations, RESERVED_ANNOTATIONS, "annotation")
        return annotations

    @field_validator("test")
    @classmethod
    def _templated_annotations_expected(cls, test: AlertTest, info: ValidationInfo) -> AlertTest:
        annotations: dict[str, str] = info.data.get("annotations", {})
        missing = [k for k, v in annotations.items() if "{{" in v and k not in test.annotations]
        if missing:
            raise ValueError(
                f"templated annotations need their expected text in test.annotations: {missing}"
            )
        return test


def _reject_reserved(keys: Mapping[str, str], reserved: frozenset[str], what: str) -> None:
    clash = sorted(set(keys) & reserved)
    if clash:
        raise ValueError(f"{what}(s) {clash} are set from the alert's own fields")


class Alert(_AlertBase):
    """One alert of spec §5, at real durations, with its PromQL."""

    window_s: PositiveSeconds | None = Field(default=None, alias="window")
    """Main range window, `{{window}}` in `expr`: it must fill before a step fault fires the
    alert, so the budget includes it. None: nothing to fill (gauge + `for`, look-back)."""
    windows_s: dict[LabelName, PositiveSeconds] = Field(default={}, alias="windows")
    """Further named windows, e.g. `{long: 1h}` for `[{{long}}]` (multi-window burn rates)."""
    expr: str
    """PromQL with every range window written as a placeholder: `rate(x[{{window}}])`."""
    slo: str | None = None
    """The SLO (slos.yaml) this alert protects, if any."""

    @field_validator("windows_s")
    @classmethod
    def _main_window_not_redefined(cls, windows: dict[str, float]) -> dict[str, float]:
        if MAIN_WINDOW in windows:
            raise ValueError(f"{MAIN_WINDOW!r} is the main window; set it with `window:`")
        return windows

    @field_validator("expr")
    @classmethod
    def _check_expr(cls, expr: str, info: ValidationInfo) -> str:
        problems = _expr_window_problems(expr, info.data)
        problems += vocabulary_problems(expr, context_vocabulary(info))
        _raise_if(problems)
        return expr

    @field_validator("slo")
    @classmethod
    def _known_slo(cls, slo: str | None, info: ValidationInfo) -> str | None:
        known = (info.context or {}).get("slos")
        if slo is not None and isinstance(known, Mapping) and slo not in known:
            raise ValueError(f"unknown SLO {slo!r}; {SLOS_FILE} has: {', '.join(known)}")
        return slo

    @property
    def all_windows_s(self) -> dict[str, float]:
        """Every window the expression may reference, by placeholder name."""
        main = {} if self.window_s is None else {MAIN_WINDOW: self.window_s}
        return {**main, **self.windows_s}

    @property
    def longest_window_s(self) -> float:
        """The longest window of the expression (0: none): history a scenario's warm-up must
        give the alert before its ratios mean what they mean in production."""
        return max(self.all_windows_s.values(), default=0.0)

    @property
    def fill_window_s(self) -> float:
        """The window a step fault must fill before the alert can fire (0: none)."""
        return self.window_s or 0.0

    def expr_at(self, scale: float) -> str:
        """The PromQL expression with each window divided by `scale` (1 = production)."""
        return render_template(self.expr, self.all_windows_s, scale)

    def signal_at(self, scale: float) -> tuple[str, float | None]:
        """What to plot: the expression without its final `> N` and the threshold N.

        An expression not ending in a numeric comparison is returned whole, threshold None.
        """
        expr = self.expr_at(scale)
        match = _TRAILING_COMPARISON.match(expr)
        if match is None or not _balanced(match["signal"]):
            return expr, None
        return match["signal"].strip(), float(match["threshold"])

    def for_at(self, scale: float) -> str:
        """The `for` duration divided by `scale`, as Prometheus writes it."""
        return format_duration(self.for_s / scale)

    def rule_labels(self) -> dict[str, str]:
        """Labels the rule attaches: severity and receiver first, then the alert's own."""
        own = dict(sorted(self.labels.items()))
        return {"severity": self.severity.value, "receiver": self.receiver.value, **own}

    def rule_annotations(self) -> dict[str, str]:
        """Annotations the rule attaches: summary and spec_ref first, then the alert's own."""
        own = dict(sorted(self.annotations.items()))
        return {"summary": self.summary, "spec_ref": self.spec_ref, **own}

    def effective_scale(self, timing: Timing) -> float:
        """The time scale this alert's rules, budget and scaled tests use under `timing`."""
        if self.test_scale is ScalePolicy.COMPRESS:
            windows = self.all_windows_s.values()
            return compressed_scale(timing.time_scale, windows, timing.scrape_interval_s)
        return timing.time_scale

    def budget(self, timing: Timing) -> AlertBudget:
        """How soon, at best and at worst, the alert fires and resolves under `timing`."""
        own = timing.at_scale(self.effective_scale(timing))
        return budget(own, self.fill_window_s, self.for_s)


_TRAILING_COMPARISON = re.compile(
    r"^(?P<signal>.*?)\s*(?:>=|<=|>|<|==)\s*(?P<threshold>-?[0-9.]+(?:e-?[0-9]+)?)\s*$", re.DOTALL
)


def _balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _expr_window_problems(expr: str, fields: Mapping[str, Any]) -> list[str]:
    """Every window must be a declared placeholder; no literal duration may remain."""
    used = placeholders(expr)
    problems: list[str] = []
    main = fields.get("window_s")
    if main is not None and MAIN_WINDOW not in used:
        problems.append("must reference a window, e.g. rate(x[{{window}}])")
    extra = fields.get("windows_s")
    if "window_s" in fields and extra is not None:  # absent: invalid, already reported
        declared = set(extra) | ({MAIN_WINDOW} if main is not None else set())
        if used - declared:
            problems.append(f"undeclared window placeholder(s): {sorted(used - declared)}")
        if set(extra) - used:
            problems.append(f"declared but unused window(s): {sorted(set(extra) - used)}")
    literal = literal_duration(expr)
    if literal:
        problems.append(
            f"literal duration {literal!r} would not be time-scaled; "
            "use a placeholder such as [{{window}}]"
        )
    return problems


# -- burn-rate alerts (generated from an availability SLO) --------------------------------


class BurnWindow(StrictModel):
    """One window pair of a multiwindow burn-rate alert (SRE workbook, chapter 5).

    It fires when the error ratio over BOTH windows is above `burn rate x error budget`, where
    the burn rate is the pace that spends `budget_consumed` of the SLO period's budget in
    `long`: over a 30-day period, 2 % in 1h is 14.4, 5 % in 6h is 6, 10 % in 3d is 1. The
    short window (1/12 of the long one) makes the alert stop soon after the errors do.
    """

    long_s: PositiveSeconds = Field(alias="long")
    short_s: PositiveSeconds = Field(alias="short")
    budget_consumed: Percent

    @model_validator(mode="after")
    def _short_is_shorter(self) -> BurnWindow:
        if self.short_s >= self.long_s:
            raise ValueError("the short window must be shorter than the long one")
        return self


class BurnRateAlertSpec(_AlertBase):
    """A burn-rate alert as written in alerts.yaml: the SLO and the window pairs."""

    slo: str
    """An availability SLO of slos.yaml."""
    windows: tuple[BurnWindow, ...] = Field(min_length=1)

    @field_validator("slo")
    @classmethod
    def _availability_slo(cls, slo: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("slos")
        if not isinstance(known, Mapping):  # slos.yaml invalid: already reported
            return slo
        found = known.get(slo)
        if not isinstance(found, AvailabilitySlo):
            names = [n for n, s in known.items() if isinstance(s, AvailabilitySlo)]
            raise ValueError(f"not an availability SLO of {SLOS_FILE}: {slo!r}; known: {names}")
        return slo

    @field_validator("windows")
    @classmethod
    def _windows_fit_the_period(
        cls, windows: tuple[BurnWindow, ...], info: ValidationInfo
    ) -> tuple[BurnWindow, ...]:
        found = ((info.context or {}).get("slos") or {}).get(info.data.get("slo"))
        longest = max(w.long_s for w in windows)
        if isinstance(found, AvailabilitySlo) and longest > found.period_s:
            period = format_duration(found.period_s)
            raise ValueError(f"a window of {format_duration(longest)} exceeds the SLO's {period}")
        return windows

    def to_alert(self, slo: AvailabilitySlo) -> BurnRateAlert:
        """The alert with its expression and windows generated from `slo`.

        Built from already-validated parts (no second parse of durations); the loader checks
        the generated expression like a written one (`generated_expr_problems`).
        """
        pairs = tuple(sorted(self.windows, key=lambda w: w.long_s))
        windows: dict[str, float] = {}
        for i, pair in enumerate(pairs):
            long_name, short_name = _pair_names(i)
            windows |= {long_name: pair.long_s, short_name: pair.short_s}
        labels = {SLO_LABEL: slo.name, **self.test.output_labels}
        common = {name: getattr(self, name) for name in _AlertBase.model_fields if name != "test"}
        return BurnRateAlert.model_construct(
            **common,
            test=self.test.model_copy(update={"output_labels": labels}),
            window_s=windows.pop(MAIN_WINDOW),
            windows_s=windows,
            expr=_burn_expr(slo, pairs),
            slo=slo.name,
            burn_windows=pairs,
        )


def _pair_names(index: int) -> tuple[str, str]:
    """Placeholders of pair `index`: the fastest pair's long window is the main window (a
    fault that trips it fills that window first), the others are numbered."""
    return (MAIN_WINDOW, "short") if index == 0 else (f"long{index + 1}", f"short{index + 1}")


def _burn_expr(slo: AvailabilitySlo, pairs: tuple[BurnWindow, ...]) -> str:
    selector = f'{{{SLO_LABEL}="{slo.name}"}}'
    clauses = []
    for i, pair in enumerate(pairs):
        long_name, short_name = _pair_names(i)
        threshold = f"({slo.burn_rate(pair.budget_consumed, pair.long_s):g} * {slo.error_budget:g})"
        long_ratio = f"{RECORDED_RATIO}{{{{{long_name}}}}}{selector}"
        short_ratio = f"{RECORDED_RATIO}{{{{{short_name}}}}}{selector}"
        clauses.append(f"({long_ratio} > {threshold} and {short_ratio} > {threshold})")
    return " or ".join(clauses)


class BurnRateAlert(Alert):
    """A burn-rate alert with its generated expression, reading the recorded error ratios."""

    slo: str
    burn_windows: tuple[BurnWindow, ...] = Field(min_length=1)
    """The window pairs it was generated from, fastest first."""

    def signal_at(self, scale: float) -> tuple[str, float | None]:
        """The error ratio over the fastest pair's long window (its threshold is the SLO's)."""
        selector = f'{{{SLO_LABEL}="{self.slo}"}}'
        return render_template(
            f"{RECORDED_RATIO}{{{{{MAIN_WINDOW}}}}}{selector}", self.all_windows_s, scale
        ), None

    def generated_expr_problems(self, vocabulary: SeriesVocabulary | None) -> list[str]:
        """The checks a written `expr` gets, for the generated one (a generator bug, or an
        SLO whose name cannot be a label value, shows here rather than in promtool)."""
        fields = {"window_s": self.window_s, "windows_s": self.windows_s}
        return _expr_window_problems(self.expr, fields) + vocabulary_problems(self.expr, vocabulary)


@dataclass(frozen=True)
class RecordedRatio:
    """One recording rule: an SLO's error ratio over one (rendered) window."""

    record: str
    slo: str
    window: str
    expr: str


# -- files and the catalogue ----------------------------------------------------------------


class AlertsFile(StrictModel):
    """Shape of alerts.yaml."""

    alerts: tuple[Alert, ...] = Field(min_length=1)
    burn_rate_alerts: tuple[BurnRateAlertSpec, ...] = ()


class MetricsFile(StrictModel):
    """Shape of metrics.yaml: metric name (the spec's, where it names one) -> contract."""

    metrics: dict[SeriesName, Metric] = Field(min_length=1)


class Catalog(StrictModel):
    """The whole catalogue: alerts (names unique), the SLOs and the metrics they may use."""

    alerts: tuple[Alert, ...]
    metrics: dict[str, Metric]
    slos: tuple[Slo, ...] = ()
    tables: dict[str, dict[str, str]] = {}
    """Postgres tables the async SLOs read (name -> column -> SQL type)."""
    dashboards: DashboardsFile | None = None
    """The dashboards of spec §4 (dashboards.yaml; optional), see harness.dashboards."""

    @model_validator(mode="after")
    def _names_unique(self) -> Catalog:
        for what, names in (("alert", self.alert_names), ("SLO", self.slo_names)):
            dupes = [n for n, c in Counter(names).items() if c > 1]
            if dupes:
                raise ValueError(f"duplicate {what} name(s): {sorted(dupes)}")
        return self

    @property
    def alert_names(self) -> tuple[str, ...]:
        """Alert names in catalogue order."""
        return tuple(a.name for a in self.alerts)

    def alert(self, name: str) -> Alert:
        """The alert called `name`; KeyError if the catalogue has none."""
        for candidate in self.alerts:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def select(self, names: Iterable[str] | None) -> tuple[Alert, ...]:
        """The alerts called `names`, in that order; every alert when `names` is None."""
        return self.alerts if names is None else tuple(self.alert(n) for n in names)

    @property
    def slo_names(self) -> tuple[str, ...]:
        """SLO names in catalogue order."""
        return tuple(s.name for s in self.slos)

    def slo(self, name: str) -> Slo:
        """The SLO called `name`; KeyError if the catalogue has none."""
        for candidate in self.slos:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def vocabulary(self) -> SeriesVocabulary:
        """What PromQL may select: the exposed series (metrics.yaml)."""
        return vocabulary_of(self.metrics)

    @property
    def known_series(self) -> frozenset[str]:
        """Every series name the catalogued metrics expose."""
        return self.vocabulary.names

    def required_labels(self, series: str) -> tuple[str, ...]:
        """Labels an exposed series must carry (`le` for buckets); KeyError if unknown."""
        for metric in self.metrics.values():
            if series in metric.exposed_series:
                return metric.series_labels(series)
        raise KeyError(series)

    def series_contract(self) -> dict[str, tuple[str, ...]]:
        """Every series the system under test must expose -> the labels it must carry."""
        return {s: m.series_labels(s) for m in self.metrics.values() for s in m.exposed_series}

    def shortest_window_s(self) -> float:
        """Shortest range window of the alerts that run at the run's scale: it sets the
        scrape interval (`Timing`); compressed alerts adapt their scale to that interval."""
        run = [a for a in self.alerts if a.test_scale is ScalePolicy.RUN]
        windows = [w for a in run or self.alerts for w in a.all_windows_s.values()]
        if not windows:
            raise ValueError("no alert has a range window to derive intervals from")
        return min(windows)

    def timing(self, scale: float) -> Timing:
        """The run's intervals at `scale` (what the session uses; rules render with it)."""
        return Timing.for_scale(scale, self.shortest_window_s())

    def compressed(self, timing: Timing) -> tuple[str, ...]:
        """Alerts running faster than the run under `timing`. A scenario's phases are scaled
        by the run's scale, so for these a fault lasts longer than it does for the others
        (6 s of fault at scale 4000 is 6.7 hours): they fire in faults that would not fire
        them in production, and belong in a scenario's `may_fire` or `fires`, never in the
        list of alerts that must stay silent during a fault."""
        return tuple(a.name for a in self.alerts if a.effective_scale(timing) != timing.time_scale)

    def budgets(self, timing: Timing) -> dict[str, AlertBudget]:
        """Every alert's budget under `timing`, each at its effective scale."""
        return {a.name: a.budget(timing) for a in self.alerts}

    def recorded_ratios(
        self, timing: Timing, alerts: Iterable[str] | None = None
    ) -> tuple[RecordedRatio, ...]:
        """Recording rules the burn-rate alerts (all, or those named) read under `timing`,
        deduplicated by the rendered window (production: `timing.time_scale == 1`)."""
        found: dict[tuple[str, float], RecordedRatio] = {}
        for alert in self.select(alerts):
            if not isinstance(alert, BurnRateAlert):
                continue
            slo = self.availability_slo(alert.slo)
            scale = alert.effective_scale(timing)
            for seconds in alert.all_windows_s.values():
                window = format_duration(seconds / scale)
                ratio = slo.error_ratio_at(seconds / scale)
                record = RecordedRatio(RECORDED_RATIO + window, slo.name, window, ratio)
                found.setdefault((slo.name, parse_duration(window)), record)
        order = {name: i for i, name in enumerate(self.slo_names)}
        return tuple(found[k] for k in sorted(found, key=lambda k: (order[k[0]], k[1])))

    def availability_slo(self, name: str) -> AvailabilitySlo:
        """The availability SLO called `name`; KeyError if there is none of that kind."""
        slo = self.slo(name)
        if not isinstance(slo, AvailabilitySlo):
            raise KeyError(f"{name} is a {slo.kind} SLO, not an availability one")
        return slo


def load_catalog(directory: Path = DEFAULT_CATALOG_DIR) -> Catalog:
    """Load and cross-check metrics.yaml, slos.yaml, alerts.yaml (and dashboards.yaml when
    present); ConfigError lists every problem of every file."""
    metrics, vocabulary, problems = _load_metrics(directory / METRICS_FILE)
    slos, more = load_slos(directory / SLOS_FILE, vocabulary)
    problems += more
    alerts, more = _load_alerts(directory / ALERTS_FILE, vocabulary, slos.slos if slos else None)
    problems += more
    dashboards, more = load_dashboards(directory / DASHBOARDS_FILE, vocabulary)
    problems += more
    if problems or metrics is None or slos is None or alerts is None:
        raise ConfigError(problems)
    return Catalog(
        alerts=alerts,
        metrics=metrics.metrics,
        slos=slos.slos,
        tables=slos.tables,
        dashboards=dashboards,
    )


def _load_metrics(
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


def _load_alerts(
    path: Path, vocabulary: SeriesVocabulary | None, slos: tuple[Slo, ...] | None
) -> tuple[tuple[Alert, ...] | None, list[Problem]]:
    data, problems = read_yaml(path)
    if data is None and problems:
        return None, problems
    file = display_path(path)
    problems += _duplicate_alert_names(file, data)
    by_name = {s.name: s for s in slos} if slos is not None else None
    context = {"vocabulary": vocabulary, "slos": by_name}
    parsed, more = validate_data(AlertsFile, data, file, context)
    problems += more
    if parsed is None or by_name is None:
        return None, problems
    generated, more = _generate_burn_alerts(file, parsed, by_name, vocabulary)
    problems += more
    return (None if problems else (*parsed.alerts, *generated)), problems


def _generate_burn_alerts(
    file: str,
    parsed: AlertsFile,
    slos: Mapping[str, Slo],
    vocabulary: SeriesVocabulary | None,
) -> tuple[list[BurnRateAlert], list[Problem]]:
    """Expand each burn-rate spec into an alert; its expression is validated like any other."""
    names = frozenset(n for n, s in slos.items() if isinstance(s, AvailabilitySlo))
    merged = vocabulary.merged(recorded_vocabulary(names)) if vocabulary else None
    alerts: list[BurnRateAlert] = []
    problems: list[Problem] = []
    for i, spec in enumerate(parsed.burn_rate_alerts):
        slo = slos[spec.slo]
        if not isinstance(slo, AvailabilitySlo):  # rejected by BurnRateAlertSpec already
            continue
        alert = spec.to_alert(slo)
        reasons = alert.generated_expr_problems(merged)
        problems += [
            Problem(file, f"burn_rate_alerts[{i}]", f"generated expr: {r}") for r in reasons
        ]
        alerts.append(alert)
    return alerts, problems


def _duplicate_alert_names(file: str, data: object) -> list[Problem]:
    """Checked on the raw data (both lists) so it is reported even when other fields are
    invalid."""
    first: dict[str, str] = {}
    problems = []
    for section in ("alerts", "burn_rate_alerts"):
        items: Any = data.get(section) if isinstance(data, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            where = f"{section}[{i}]"
            if name in first:
                reason = f"duplicate alert name {name!r} (first at {first[name]})"
                problems.append(Problem(file, f"{where}.name", reason))
            first.setdefault(name, where)
    return problems
