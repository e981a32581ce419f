"""A scenario as the runner runs it: the `Plan` type, and `build_plan`, which turns a validated
scenario into one (durations scaled, faults built, budgets set, names resolved)."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.correlation import CorrelationHop, RequestFilter
from harness.checks.evidence import Correlation, EvidencePlan
from harness.checks.fault_effect import SERIES_KIND, EffectProbe
from harness.dashboards.plan import DashboardPlan, dashboard_plan
from harness.load.runner import LoadProfile
from harness.observe.series import SeriesSpec
from harness.observe.traces import SPEC_PATHS
from harness.run.faults import Fault, HttpCall, HttpFault, LoadFault, Outage, Toxic
from harness.run.toxiproxy import ToxicSpec
from harness.spec.catalog import Catalog
from harness.spec.fault_effects import stated_effect
from harness.spec.faults import (
    UNTIL_EXPECTATIONS,
    FaultSpec,
    HttpCallSpec,
    HttpFaultSpec,
    LoadFaultSpec,
    OutageFault,
)
from harness.spec.scenario import CorrelationHopSpec, EvidenceExpect, Scenario
from harness.spec.slo import Slo
from harness.spec.templates import PLACEHOLDER
from harness.spec.timescale import AlertBudget, Timing, format_duration
from harness.spec.traffic import Load


@dataclass(frozen=True)
class ExpectedAlert:
    name: str
    receiver: str
    budget: AlertBudget
    severity: str | None = None  # routing.yaml's, like `receiver`


@dataclass(frozen=True)
class MitigationStep:
    """A playbook action taken once `after_firing` fired, while the faults are still on."""

    after_firing: tuple[str, ...]
    apply: tuple[HttpCall, ...]
    rollback: tuple[HttpCall, ...]
    resolves: tuple[ExpectedAlert, ...]  # must resolve under the mitigation alone


@dataclass(frozen=True)
class Plan:
    """A scenario with every duration already scaled and every name resolved."""

    scenario: str
    load: LoadProfile
    warmup_s: float
    baseline_s: float
    faults: tuple[Fault, ...]
    hold_s: float | None  # None: hold until every expected alert fired and was delivered
    fires: tuple[ExpectedAlert, ...]
    resolves: tuple[ExpectedAlert, ...]
    quiet: dict[str, float]  # alerts that must stay silent in the baseline -> scaled `for`
    may_fire: tuple[str, ...] = ()  # may fire during the fault besides `fires`
    recovery_max_s: float | None = None  # default: the longest resolve budget
    mitigation: MitigationStep | None = None
    slos_held: tuple[Slo, ...] = ()  # judged over the baseline
    slos_violated: tuple[Slo, ...] = ()  # judged over the fault window
    crosscheck_latency: bool = True
    evidence: EvidencePlan = field(default_factory=EvidencePlan)
    series: tuple[SeriesSpec, ...] = ()  # read over the whole scenario once it ends
    dashboards: DashboardPlan | None = None  # panels checked from the captured `series`
    effects: tuple[EffectProbe, ...] = ()  # one per fault: what shows it acted

    @property
    def captured(self) -> tuple[SeriesSpec, ...]:
        """Every series read at the scenario's end: `series` and the faults' signals."""
        return self.series + tuple(p.series for p in self.effects if p.series is not None)


# Locust keeps running past the plan's own estimate by this much at most; it is stopped as
# soon as the scenario ends, so this only bounds a run that went wrong.
LOAD_SAFETY_FACTOR = 3.0


def _call(spec: HttpCallSpec) -> HttpCall:
    capture = tuple(spec.capture.items())
    return HttpCall(spec.service, spec.method.value, spec.path, spec.json_body, spec.auth, capture)


def _calls(specs: tuple[HttpCallSpec, ...]) -> tuple[HttpCall, ...]:
    return tuple(_call(s) for s in specs)


def _profile(load: Load, max_duration_s: float) -> LoadProfile:
    return LoadProfile(
        users=load.users,
        rate_per_user=load.rate_per_user,
        mix={task.value: weight for task, weight in load.mix.items()},
        max_duration_s=max_duration_s,
    )


def _fault(spec: FaultSpec, max_duration_s: float) -> Fault:
    if isinstance(spec, OutageFault):
        return Outage(spec.name, spec.proxy)
    if isinstance(spec, HttpFaultSpec):
        return HttpFault(spec.name, _calls(spec.apply), _calls(spec.rollback))
    if isinstance(spec, LoadFaultSpec):
        return LoadFault(spec.name, _profile(spec, max_duration_s), spec.service)
    toxic = ToxicSpec(
        name=spec.name,
        type=spec.kind,
        attributes=dict(spec.toxiproxy_attributes),
        stream=spec.direction,
        toxicity=spec.toxicity,
    )
    return Toxic(spec.name, spec.proxy, toxic)


# A fault's signal is a rate over this many scrape intervals (1 s at least).
EFFECT_WINDOW_SCRAPES = 4


def _probe(spec: FaultSpec, fault: Fault, catalog: Catalog, timing: Timing) -> EffectProbe:
    effect = stated_effect(spec, catalog)
    if isinstance(effect, str):
        return EffectProbe(spec.name, fault.where, None, missing=effect)
    window_s = max(1.0, EFFECT_WINDOW_SCRAPES * timing.scrape_interval_s)
    expr = PLACEHOLDER.sub(format_duration(window_s), effect.query)
    series = SeriesSpec(f"effect/{spec.name}", f"effect of fault {spec.name}", expr, SERIES_KIND)
    lag_s = window_s + timing.scrape_interval_s
    return EffectProbe(spec.name, fault.where, series, effect.direction, effect.at_least,
                       lag_s=lag_s)  # fmt: skip


def _hold_s(scenario: Scenario, scale: float) -> float | None:
    """A fixed hold when any fault states one (the longest wins), else hold on expectations."""
    fixed = [f.hold for f in scenario.faults if f.hold != UNTIL_EXPECTATIONS]
    return max(float(h) for h in fixed) / scale if fixed else None


def _scaled_for(catalog: Catalog, name: str, timing: Timing) -> float:
    alert = catalog.alert(name)
    return alert.for_s / alert.effective_scale(timing)


def _evidence(e: EvidenceExpect) -> EvidencePlan:
    def hop(h: CorrelationHopSpec) -> CorrelationHop:
        routes = frozenset(h.routes) if h.routes is not None else None
        methods = frozenset(m.value for m in h.methods) if h.methods is not None else None
        return CorrelationHop(
            h.service, RequestFilter(routes, methods, h.success_only), h.min_ratio
        )

    return EvidencePlan(
        log_services=e.log_services,
        error_codes=e.error_codes,
        correlations=tuple(
            Correlation(tuple(hop(h) for h in c.hops), c.origin) for c in e.correlations
        ),
        traces=tuple(SPEC_PATHS[n] for n in e.traces),
        metrics=e.metrics_present,
        no_secrets=e.no_secret_in_logs,
    )


def build_plan(
    scenario: Scenario, catalog: Catalog, timing: Timing, without_faults: bool = False
) -> Plan:
    if without_faults:
        scenario = scenario.without_faults()
    scale = timing.time_scale

    onset = scenario.expect.onset

    def expected(name: str) -> ExpectedAlert:
        route = catalog.expected_route(name)  # the spec's table, not the alert's own fields
        after = catalog.alert(name).budget(timing).after(onset)
        return ExpectedAlert(name, route.receiver, after, route.severity)

    def signal(name: str) -> SeriesSpec:
        alert = catalog.alert(name)
        expr, threshold = alert.signal_at(alert.effective_scale(timing))
        return SeriesSpec(name, alert.summary, expr, "alert", threshold)

    fires = tuple(expected(n) for n in scenario.expect.fires)
    resolves = tuple(expected(n) for n in scenario.expect.resolves)
    warmup, baseline = scenario.phases.warmup_s / scale, scenario.phases.baseline_s / scale
    recovery_max = scenario.phases.recovery_max_s
    longest = max((e.budget.budget_s + e.budget.resolve_budget_s for e in fires), default=0.0)
    under_mitigation = tuple(expected(n) for n in scenario.expect.resolves_under_mitigation)
    bound = (warmup + baseline + 2 * longest + 30.0) * LOAD_SAFETY_FACTOR
    mitigation = scenario.mitigation
    dashboards = dashboard_plan(scenario.expect.dashboards, catalog.dashboards, timing)
    faults = tuple(_fault(f, bound) for f in scenario.faults)
    return Plan(
        scenario=scenario.name,
        load=_profile(scenario.load, bound),
        warmup_s=warmup,
        baseline_s=baseline,
        faults=faults,
        effects=tuple(
            _probe(spec, fault, catalog, timing)
            for spec, fault in zip(scenario.faults, faults, strict=True)
        ),
        hold_s=_hold_s(scenario, scale),
        fires=fires,
        resolves=resolves,
        quiet={n: _scaled_for(catalog, n, timing) for n in scenario.expect.quiet_in_baseline},
        may_fire=scenario.expect.may_fire,
        recovery_max_s=recovery_max / scale if recovery_max else None,
        evidence=_evidence(scenario.expect.evidence),
        slos_held=tuple(catalog.slo(n) for n in scenario.expect.slos.held),
        slos_violated=tuple(catalog.slo(n) for n in scenario.expect.slos.violated),
        crosscheck_latency=scenario.expect.slos.crosscheck_latency,
        series=tuple(
            signal(n) for n in dict.fromkeys((*scenario.expect.fires, *scenario.expect.resolves))
        )
        + (dashboards.series if dashboards else ()),
        dashboards=dashboards,
        mitigation=MitigationStep(
            after_firing=mitigation.after_firing,
            apply=_calls(mitigation.apply),
            rollback=_calls(mitigation.rollback),
            resolves=under_mitigation,
        )
        if mitigation
        else None,
    )
