"""Chaos scenarios: one YAML file describes one experiment (data only; see harness.run.runner).

A scenario puts load on the system, keeps a healthy baseline in which nothing may fire, breaks
one or more dependencies (see harness.spec.faults), and states which alerts must fire, be
delivered to their receivers and resolve. Every duration is written at REAL scale (as in the
spec) and divided by the run's time scale when the scenario runs.

Everything is validated before anything starts: `load_scenarios` reports every problem of
every file (syntax, unknown fields, bad durations, alert names missing from the catalogue,
unknown fault kinds...) in one `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

from harness.dashboards.expect import DashboardExpect
from harness.errors import ConfigError, Problem
from harness.observe.traces import SPEC_PATHS
from harness.spec.catalog import Catalog
from harness.spec.fault_effects import stated_effect
from harness.spec.faults import (
    MAX_PHASE_S,
    UNTIL_EXPECTATIONS,
    FaultSpec,
    HttpCalls,
    HttpMethod,
    ProxyFault,
)
from harness.spec.fields import (
    Seconds,
    ServiceName,
    Slug,
    StrictModel,
    at_most,
    positive,
    to_seconds,
)
from harness.spec.files import display_path, load_model
from harness.spec.traffic import Load

ALL_ALERTS: Final = "all"
# Onset is not time-scaled: it is added as it is to every budget of the scenario.
MAX_ONSET_S = 600.0

PhaseSeconds = Annotated[float, BeforeValidator(to_seconds), at_most(MAX_PHASE_S)]
PositivePhaseSeconds = Annotated[PhaseSeconds, AfterValidator(positive)]


def _catalog(info: ValidationInfo) -> Catalog | None:
    catalog = (info.context or {}).get("catalog")
    return catalog if isinstance(catalog, Catalog) else None


def _names(what: str) -> Callable[[Catalog], tuple[str, ...]]:
    attribute = {"alert": "alert_names", "SLO": "slo_names", "metric": "metrics"}[what]
    return lambda catalog: tuple(getattr(catalog, attribute))


def _known(what: str) -> Callable[[str, ValidationInfo], str]:
    """A validator checking a name against the catalogue the loader passes as context."""
    names_of = _names(what)

    def check(name: str, info: ValidationInfo) -> str:
        catalog = _catalog(info)
        if catalog is not None and name not in names_of(catalog):
            known = ", ".join(names_of(catalog))
            raise ValueError(f"unknown {what} {name!r}; the catalogue has: {known}")
        return name

    return check


def _every(what: str) -> Callable[[object, ValidationInfo], object]:
    """A validator turning `all` into every name of that kind in the catalogue."""
    names_of = _names(what)

    def expand(value: object, info: ValidationInfo) -> object:
        if value != ALL_ALERTS:
            return value
        catalog = _catalog(info)
        if catalog is None:
            raise ValueError(f"{ALL_ALERTS!r} needs the catalogue (use load_scenario)")
        return names_of(catalog)

    return expand


def _in_fires(name: str, info: ValidationInfo) -> str:
    fires = info.data.get("fires")
    if fires is not None and name not in fires:  # None: `fires` was invalid, already reported
        raise ValueError(f"{name!r} must also be in expect.fires to be expected to resolve")
    return name


AlertName = Annotated[str, AfterValidator(_known("alert"))]
ResolvingAlertName = Annotated[str, AfterValidator(_known("alert")), AfterValidator(_in_fires)]


class PhaseLengths(StrictModel):
    """Lengths of the timeline's fixed phases, REAL scale."""

    warmup_s: PhaseSeconds = Field(alias="warmup")
    """Load runs, nothing is checked: windows fill with healthy traffic."""
    baseline_s: PositivePhaseSeconds = Field(alias="baseline")
    """Healthy window: the alerts of expect.quiet_in_baseline must not fire."""
    recovery_max_s: PositivePhaseSeconds | None = Field(default=None, alias="recovery_max")
    """Upper bound on waiting for resolution after the faults are removed; by default the
    longest resolve budget of the alerts in expect.resolves."""


class Mitigation(StrictModel):
    """A playbook step (spec §6.2 'Mitigation') taken while the faults are still active."""

    after_firing: tuple[AlertName, ...] = Field(min_length=1)
    """Applied once every one of these alerts fired (they must be in expect.fires)."""
    apply: HttpCalls = Field(min_length=1)
    rollback: HttpCalls = ()
    """Undoes the mitigation when the faults are removed."""


SloName = Annotated[str, AfterValidator(_known("SLO"))]


class SloExpect(StrictModel):
    """SLO verdicts: `held` over the healthy baseline, `violated` over the fault window."""

    held: Annotated[tuple[SloName, ...], BeforeValidator(_every("SLO"))] = ()
    """`all` or a list of SLO names that must hold in the baseline."""
    violated: tuple[SloName, ...] = ()
    """SLOs the fault must break (proves the SLO measurement can see a breach)."""
    crosscheck_latency: bool = True
    """Cross-check each held latency SLO's server p95 with Locust's over the whole load."""


def _known_path(name: str) -> str:
    if name not in SPEC_PATHS:
        raise ValueError(f"unknown trace path {name!r}; known: {', '.join(SPEC_PATHS)}")
    return name


MetricName = Annotated[str, AfterValidator(_known("metric"))]
TracePathName = Annotated[str, AfterValidator(_known_path)]
ErrorCodeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class CorrelationHopSpec(StrictModel):
    """A service that must log the request_id of requests that reached it (spec §7)."""

    service: ServiceName
    routes: tuple[str, ...] | None = None
    """Route templates of the origin's requests that reach this hop; None: every one."""
    methods: tuple[HttpMethod, ...] | None = None
    success_only: bool = False
    """Only requests that succeeded at the origin (True for worker hops)."""
    min_ratio: float = Field(default=1.0, gt=0.0, le=1.0)


class CorrelationSpec(StrictModel):
    origin: ServiceName = "edge"
    hops: tuple[CorrelationHopSpec, ...] = Field(min_length=1)


class EvidenceExpect(StrictModel):
    """Logs, traces and metrics the spec demands (§2.1-§2.3, §7), judged per scenario."""

    log_services: tuple[ServiceName, ...] = ("edge", "core")
    """Services whose every log event must carry the §2.1 fields."""
    error_codes: tuple[ErrorCodeName, ...] = ()
    """Error codes that must be logged during the fault (spec §7 standard codes)."""
    correlations: tuple[CorrelationSpec, ...] = ()
    traces: tuple[TracePathName, ...] = ()
    """§2.3 trace paths that must appear whole (one root, no broken parent link)."""
    metrics_present: Annotated[tuple[MetricName, ...], BeforeValidator(_every("metric"))] = ()
    """`all` or catalogue metric names that must be exposed with every required label (best
    stated where the load exercises every path, as in the healthy baseline)."""
    no_secret_in_logs: bool = True
    """No API key, webhook secret or payload canary in any log line or span."""


class Expect(StrictModel):
    """What must (and must not) happen, checked against Prometheus and Alertmanager."""

    fires: tuple[AlertName, ...] = ()
    """Must go firing within its budget after the faults start and be delivered to its
    receiver."""
    may_fire: tuple[AlertName, ...] = ()
    """May fire during the fault without failing the scenario; any other alert firing then
    is a failure."""
    quiet_in_baseline: Annotated[tuple[AlertName, ...], BeforeValidator(_every("alert"))] = Field(
        default=ALL_ALERTS, validate_default=True
    )
    """Must not fire in the baseline: `all` (every catalogue alert) or a list of names."""
    resolves: tuple[ResolvingAlertName, ...] = ()
    """Must resolve within its resolve budget after the faults are removed (subset of fires)."""
    resolves_under_mitigation: tuple[ResolvingAlertName, ...] = ()
    """Must resolve within its resolve budget after the mitigation, faults still active."""
    onset: Annotated[Seconds, at_most(MAX_ONSET_S)] = 0.0
    """How long the fault needs to produce its symptom, NOT time-scaled (a 1.2 s database
    latency saturates a pool only after requests have waited that long). Added to the budget
    of every alert in `fires`; reported with it."""
    slos: SloExpect = SloExpect()
    # Validated even when absent, with the catalogue in context, so `all` resolves.
    evidence: EvidenceExpect = Field(default={}, validate_default=True)
    dashboards: DashboardExpect | None = None
    """Panels of the catalogue's dashboards that must show data in the baseline
    (`have_data`) or move during the fault (`moves`); see harness.dashboards.expect."""


class Scenario(StrictModel):
    """One chaos experiment."""

    name: Slug
    """Unique across the suite, e.g. `wrk-platform-outage`."""
    description: str = Field(min_length=1)
    load: Load
    phases: PhaseLengths
    faults: tuple[FaultSpec, ...] = ()
    """Applied together at the end of the baseline; an empty list is a steady-state run."""
    mitigation: Mitigation | None = None
    expect: Expect

    @property
    def proxies(self) -> tuple[str, ...]:
        """The Toxiproxy proxies the faults break, by the scenario's names, in order."""
        return tuple(dict.fromkeys(f.proxy for f in self.faults if isinstance(f, ProxyFault)))

    def without_faults(self) -> Scenario:
        """The same scenario with no fault injected: its `fires` expectations must fail."""
        return self.model_copy(update={"faults": ()})


def load_scenario(path: Path, catalog: Catalog) -> Scenario:
    """Load and validate one scenario file; ConfigError lists every problem in it."""
    return load_scenarios([path], catalog)[0]


def load_scenarios(paths: Iterable[Path], catalog: Catalog) -> list[Scenario]:
    """Load every file, in order; one ConfigError with every problem of every file."""
    scenarios, problems = read_scenarios(paths, catalog)
    if problems:
        raise ConfigError(problems)
    return list(scenarios.values())


def read_scenarios(
    paths: Iterable[Path], catalog: Catalog
) -> tuple[dict[Path, Scenario], list[Problem]]:
    """Every file that is a valid scenario (by path, in order), and every problem of every
    file, so later checks of the valid ones can be reported in the same run."""
    scenarios: dict[Path, Scenario] = {}
    problems: list[Problem] = []
    first_file: dict[str, str] = {}
    for path in paths:
        scenario, found = load_model(Scenario, path, {"catalog": catalog})
        file = display_path(path)
        if scenario is not None:
            found += _semantic_problems(file, scenario)
            found += _effect_problems(file, scenario, catalog)
            found += _duplicate_name(file, scenario.name, first_file)
            scenarios[path] = scenario
        problems += found
    return scenarios, problems


def _semantic_problems(file: str, scenario: Scenario) -> list[Problem]:
    """Rules across sections; they need a structurally valid scenario."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, fault in enumerate(scenario.faults):
        if fault.name in seen:
            problems.append(Problem(file, f"faults[{i}].name", f"duplicate {fault.name!r}"))
        seen.add(fault.name)
        if fault.hold == UNTIL_EXPECTATIONS and not scenario.expect.fires:
            reason = f"{UNTIL_EXPECTATIONS!r} needs at least one alert in expect.fires"
            problems.append(Problem(file, f"faults[{i}].hold", reason))
    dashboards = scenario.expect.dashboards
    if dashboards is not None and dashboards.moves and not scenario.faults:
        reason = "a panel can only be expected to move during a fault; the scenario has none"
        problems.append(Problem(file, "expect.dashboards.moves", reason))
    return problems + _mitigation_problems(file, scenario)


def _effect_problems(file: str, scenario: Scenario, catalog: Catalog) -> list[Problem]:
    """Every fault states the effect it must leave in the target's signals (fault_effective):
    a fault nothing could show acting would make a quiet verdict under it meaningless."""
    problems = []
    for i, fault in enumerate(scenario.faults):
        effect = stated_effect(fault, catalog)
        if isinstance(effect, str):
            problems.append(Problem(file, f"faults[{i}].effect", effect))
    return problems


def _mitigation_problems(file: str, scenario: Scenario) -> list[Problem]:
    expect, mitigation = scenario.expect, scenario.mitigation
    problems: list[Problem] = []
    if expect.resolves_under_mitigation and mitigation is None:
        reason = "needs a `mitigation` section: what makes the alert resolve?"
        problems.append(Problem(file, "expect.resolves_under_mitigation", reason))
    if mitigation is not None:
        if not scenario.faults:
            problems.append(Problem(file, "mitigation", "a mitigation needs faults to mitigate"))
        for i, name in enumerate(mitigation.after_firing):
            if name not in expect.fires:
                reason = f"{name!r} must also be in expect.fires"
                problems.append(Problem(file, f"mitigation.after_firing[{i}]", reason))
    return problems


def _duplicate_name(file: str, name: str, first_file: dict[str, str]) -> list[Problem]:
    if name in first_file:
        return [
            Problem(file, "name", f"duplicate scenario name {name!r} (also {first_file[name]})")
        ]
    first_file[name] = file
    return []
