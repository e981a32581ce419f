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
- `effects.yaml` (optional): how each kind of fault shows in the system's signals, which
  `fault_effective` checks (see `harness.spec.effects`).
- `routing.yaml` (optional): each category of alert -> receiver and severity, written from
  spec §5 and §6.1; alerts.yaml must agree and deliveries are judged against it (see
  `harness.spec.routing`).

The harness renders Prometheus rules from these at any time scale (see `harness.spec.rules`) and
computes every alert's budget from the same numbers, so the catalogue is the single source.

Range windows in an alert's `expr` are written as placeholders, `[{{window}}]`, filled from
the alert's `window` (and optional named `windows`). Why placeholders rather than rewriting
every `[5m]` literal: the window the budget uses is then, by construction, the one in the
expression, and a named window can be checked (declared, used). Every expression is read by
the PromQL parser (harness.spec.promql): a syntax error names the alert and the column, and a
literal duration left in `expr`, which would silently stay unscaled, is rejected. `window` is
the window that must FILL before a step fault can fire the alert, so the budget waits for it;
an alert without one (a gauge held `for` a while, a look-back that reacts at once) declares
only named `windows`, or none.

Each alert runs at the run's time scale unless it opts into compression (`test_scale:
compress`, see `harness.spec.timescale`): `Alert.effective_scale(timing)` is the one number its
rules, its budget and its scaled promtool tests all use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from harness.dashboards.load import DASHBOARDS_FILE, load_dashboards
from harness.dashboards.model import DashboardsFile
from harness.errors import ConfigError, Problem
from harness.spec.alerts import Alert, ScalePolicy
from harness.spec.burn_rate import (
    RECORDED_RATIO,
    BurnRateAlert,
    BurnRateAlertSpec,
    RecordedRatio,
    recorded_vocabulary,
)
from harness.spec.effects import EFFECTS_FILE, EffectsFile, load_effects
from harness.spec.fields import StrictModel
from harness.spec.files import display_path, read_yaml, validate_data
from harness.spec.metrics import (
    METRICS_FILE,
    Metric,
    MetricsFile,
    MetricType,
    load_metrics,
    vocabulary_of,
)
from harness.spec.routing import ROUTING_FILE, Route, RoutingTable, load_routing, routing_problems
from harness.spec.slo import SLOS_FILE, AvailabilitySlo, Slo, load_slos
from harness.spec.timescale import (
    AlertBudget,
    Timing,
    format_duration,
    parse_duration,
    scale_problem,
)
from harness.spec.vocabulary import SeriesVocabulary

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "catalog"
ALERTS_FILE = "alerts.yaml"


class AlertsFile(StrictModel):
    """Shape of alerts.yaml."""

    alerts: tuple[Alert, ...] = Field(min_length=1)
    burn_rate_alerts: tuple[BurnRateAlertSpec, ...] = ()


class Catalog(StrictModel):
    """The whole catalogue: alerts (names unique), the SLOs and the metrics they may use."""

    alerts: tuple[Alert, ...]
    metrics: dict[str, Metric]
    slos: tuple[Slo, ...] = ()
    tables: dict[str, dict[str, str]] = {}
    """Postgres tables the async SLOs read (name -> column -> SQL type)."""
    dashboards: DashboardsFile | None = None
    """The dashboards of spec §4 (dashboards.yaml; optional), see harness.dashboards."""
    effects: EffectsFile | None = None
    """How faults show in the system's signals (effects.yaml; optional), see
    harness.spec.effects."""
    routing: RoutingTable | None = None
    """Receiver and severity of each alert as the spec says (routing.yaml), see
    harness.spec.routing."""

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

    def expected_route(self, name: str) -> Route:
        """Receiver and severity `name` must be delivered with: routing.yaml's, written from
        the spec; the alert's own only for a catalogue without that table."""
        route = self.routing.expected(name) if self.routing is not None else None
        if route is not None:
            return route
        alert = self.alert(name)
        return Route("(alerts.yaml)", alert.receiver.value, alert.severity.value)

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
        """The run's intervals at `scale` (what the session uses; rules render with it);
        ValueError saying the range when the run could not honour `scale`."""
        problem = scale_problem(scale, self.shortest_window_s())
        if problem is not None:
            raise ValueError(problem)
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
    metrics, vocabulary, problems = load_metrics(directory / METRICS_FILE)
    slos, more = load_slos(directory / SLOS_FILE, vocabulary)
    problems += more
    alerts, more = _load_alerts(directory / ALERTS_FILE, vocabulary, slos.slos if slos else None)
    problems += more
    dashboards, more = load_dashboards(directory / DASHBOARDS_FILE, vocabulary)
    problems += more
    effects, more = load_effects(directory / EFFECTS_FILE, vocabulary)
    problems += more + _requests_problems(directory / EFFECTS_FILE, effects, metrics)
    routing, more = load_routing(directory / ROUTING_FILE)
    problems += more
    if routing is not None and alerts is not None:
        where = (directory / ROUTING_FILE, directory / ALERTS_FILE)
        problems += routing_problems(routing, alerts, *where)
    if problems or metrics is None or slos is None or alerts is None:
        raise ConfigError(problems)
    return Catalog(
        alerts=alerts,
        metrics=metrics.metrics,
        slos=slos.slos,
        tables=slos.tables,
        dashboards=dashboards,
        effects=effects,
        routing=routing,
    )


def _requests_problems(
    path: Path, effects: EffectsFile | None, metrics: MetricsFile | None
) -> list[Problem]:
    """effects.yaml's `requests` names a counter of metrics.yaml."""
    if effects is None or effects.requests is None or metrics is None:
        return []
    metric = metrics.metrics.get(effects.requests)
    if metric is not None and metric.type is MetricType.COUNTER:
        return []
    counters = ", ".join(n for n, m in metrics.metrics.items() if m.type is MetricType.COUNTER)
    reason = f"{effects.requests!r} is not a counter of metrics.yaml (counters: {counters})"
    return [Problem(display_path(path), "requests", reason)]


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
