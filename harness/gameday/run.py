"""One game day: a scenario against a deployment given by URLs, from preflight to postmortem.

Built on the conformance pieces: the scenario becomes a `Plan`, the `ScenarioRunner` drives
its timeline, the `FaultInjector` guarantees (and verifies) rollback, Locust puts the load.
What differs from a conformance run: the harness owns nothing of the target (deliveries are
read from Alertmanager's API), abort conditions are watched throughout, and whatever happens
the outputs are written: timeline.json, timeline.md and postmortem.md under
`<reports>/gameday-<id>/`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.checks.results import ScenarioResult
from harness.contract.levers import load_levers
from harness.contract.preflight import Expectations, run_preflight, write_report
from harness.errors import ConfigError, FaultError, HarnessError, ObserveError, Problem
from harness.gameday.abort import AbortPolicy
from harness.gameday.budget import BudgetMeter
from harness.gameday.config import GamedayConfig, check_against, load_config
from harness.gameday.monitor import AbortMonitor
from harness.gameday.postmortem import render_postmortem
from harness.gameday.timeline import CheckLine, Impact, Kind, Timeline, render_markdown
from harness.load.runner import LoadResult, read_stats
from harness.observe.alertmanager import AlertmanagerClient, AlertmanagerDeliveries
from harness.observe.prometheus import PrometheusClient
from harness.report.results import new_run_id
from harness.run.environment import RunEnvironment
from harness.run.faults import ActiveFault, Fault, FaultContext, FaultInjector, Outage, Toxic
from harness.run.plan import Plan, build_plan
from harness.run.progress import LiveProgress
from harness.run.runner import MITIGATION_APPLIED, ScenarioRunner
from harness.run.toxiproxy import ToxiproxyAPI
from harness.spec.catalog import Catalog, load_catalog
from harness.spec.discovery import find_catalog_dir, scenario_files
from harness.spec.feasibility import checked_timing, timing_problems
from harness.spec.files import display_path
from harness.spec.scenario import Scenario, load_scenario, load_scenarios
from harness.spec.slo import AsyncSlo, AvailabilitySlo
from harness.spec.timescale import Timing
from harness.stack.signals import TRAP
from harness.stack.target import Target

log = logging.getLogger("harness.gameday")

EXIT_OK, EXIT_CHECKS_FAILED, EXIT_ABORTED, EXIT_NOT_ROLLED_BACK = 0, 1, 3, 4


@dataclass(frozen=True)
class GamedayRequest:
    scenario: str  # a scenario name in `scenarios_dir`, or a scenario file
    config_file: Path
    scenarios_dir: Path = Path("scenarios")
    catalog_dir: Path | None = None  # default: the scenario's own catalogue
    reports_dir: Path = Path("reports")
    gameday_id: str = field(default_factory=new_run_id)

    @property
    def out_dir(self) -> Path:
        return self.reports_dir / f"gameday-{self.gameday_id}"


@dataclass(frozen=True)
class Prepared:
    """Everything validated, nothing started."""

    config: GamedayConfig
    catalog: Catalog
    scenario: Scenario
    plan: Plan
    timing: Timing


def resolve_scenario(request: GamedayRequest) -> tuple[Catalog, Path, Scenario]:
    path = Path(request.scenario)
    if path.is_file():
        folder = request.catalog_dir or find_catalog_dir(path) or request.scenarios_dir / "catalog"
        catalog = load_catalog(folder)
        return catalog, path, load_scenario(path, catalog)
    catalog = load_catalog(request.catalog_dir or request.scenarios_dir / "catalog")
    files = scenario_files(request.scenarios_dir)
    for file, scenario in zip(files, load_scenarios(files, catalog), strict=True):
        if request.scenario in (scenario.name, file.stem):
            return catalog, file, scenario
    raise ConfigError(
        [
            Problem(
                "SCENARIO", "name", f"no scenario {request.scenario!r} in {request.scenarios_dir}"
            )
        ]
    )


def prepare(request: GamedayRequest) -> Prepared:
    """Validate every input; ConfigError naming file, field and reason otherwise."""
    config = load_config(request.config_file)
    catalog, path, scenario = resolve_scenario(request)
    check_against(config, request.config_file, catalog, scenario)
    timing = checked_timing(
        catalog, config.time_scale, display_path(request.config_file), "time_scale"
    )
    problems = timing_problems(display_path(path), scenario, timing)
    if problems:
        raise ConfigError(problems)
    plan = external_plan(build_plan(scenario, catalog, timing), config)
    return Prepared(config, catalog, scenario, plan, timing)


def external_plan(plan: Plan, config: GamedayConfig) -> Plan:
    """Deployed proxy names; no async SLO (the harness cannot read the deployment's database)."""

    def renamed(fault: Fault) -> Fault:
        if isinstance(fault, Outage | Toxic):
            return replace(fault, proxy=config.proxy(fault.proxy))
        return fault

    return replace(
        plan,
        faults=tuple(renamed(f) for f in plan.faults),
        slos_held=tuple(s for s in plan.slos_held if not isinstance(s, AsyncSlo)),
        slos_violated=tuple(s for s in plan.slos_violated if not isinstance(s, AsyncSlo)),
    )


class RecordingFaults(FaultInjector):
    """The injector, with every fault applied and removed, and the final rollback with the
    state of every proxy the scenario touches, written to the timeline."""

    def __init__(self, ctx: FaultContext, timeline: Timeline, proxies: list[str]) -> None:
        super().__init__(ctx)
        self._timeline = timeline
        self._proxies = proxies

    def apply(self, fault: Fault) -> ActiveFault:
        try:
            active = super().apply(fault)
        except BaseException:
            if self.active and self.active[-1].fault is fault:  # it may have taken effect
                started = self.active[-1].started_at
                self._timeline.add(Kind.FAULT_APPLIED, fault.name, "interrupted", at=started)
            raise
        self._timeline.add(Kind.FAULT_APPLIED, fault.name, fault.where, at=active.started_at)
        return active

    def remove(self, active: ActiveFault) -> float:
        ended = super().remove(active)
        self._timeline.add(Kind.FAULT_REMOVED, active.fault.name, active.fault.where, at=ended)
        return ended

    def close(self) -> str:
        count = len(self.active)
        try:
            super().close()
            states = [self.api.state(p) for p in self._proxies]
        except FaultError as exc:
            self._timeline.rollback_verified = False
            self._timeline.add(Kind.ROLLBACK, "toxiproxy", f"FAILED: {exc}")
            raise
        clean = all(s.clean for s in states)
        self._timeline.rollback_verified = clean
        detail = ", ".join(f"{s.name} enabled={s.enabled} toxics={list(s.toxics)}" for s in states)
        self._timeline.add(Kind.ROLLBACK, "toxiproxy", f"{count} active fault(s) undone; {detail}")
        return f"proxies verified clean: {clean}"


class GameDay:
    def __init__(self, request: GamedayRequest, prepared: Prepared, live: LiveProgress) -> None:
        self.request, self.p, self.live = request, prepared, live
        self.target: Target = prepared.config.target()
        plan = prepared.plan
        self.expected = tuple(dict.fromkeys(e.name for e in (*plan.fires, *plan.resolves)))
        self.timeline = Timeline(
            request.gameday_id,
            plan.scenario,
            self.target.name,
            time.time(),
            self.expected,
            faults=tuple(f"{f.name}: {f.where}" for f in plan.faults),
        )
        out = request.out_dir
        self.env = RunEnvironment[AlertmanagerDeliveries](prepared.timing, out, self.progress, live)
        # Set once started; teardown and outputs cope with a start cut short.
        self.deliveries: AlertmanagerDeliveries | None = None
        self.monitor: AbortMonitor | None = None
        self.meter: BudgetMeter | None = None

    # -- the run --------------------------------------------------------------------------

    def run(self) -> int:
        out = self.request.out_dir
        out.mkdir(parents=True, exist_ok=True)
        trapped = TRAP.acquire()
        result: ScenarioResult | None = None
        try:
            try:
                runner, monitor = self._start()
                self.env.defer(monitor.stop)
                result = runner.run(self.p.plan)
            except KeyboardInterrupt as exc:
                self._aborted(_interrupt_reason(exc, self.monitor))
            except HarnessError as exc:
                self._aborted(f"harness error: {exc}")
            finally:
                with TRAP.deferred():
                    self._teardown()
                    self._finish(result)
                TRAP.take_pending()  # a second Ctrl-C during teardown changes nothing now
        finally:
            if trapped:
                TRAP.release()
        return self._exit_code()

    def _start(self) -> tuple[ScenarioRunner, AbortMonitor]:
        cfg, plan, env = self.p.config, self.p.plan, self.env
        am = AlertmanagerClient(cfg.alertmanager)
        env.defer(am.close)
        prometheus, api = env.connect(self.target)
        proxies = [cfg.proxy(p) for p in self.p.scenario.proxies]
        self._preflight(prometheus, am, api, proxies)
        self.progress(f"game day {self.request.gameday_id}: {plan.scenario} on {cfg.name}")
        deliveries = self.deliveries = AlertmanagerDeliveries(am).start()
        env.defer(deliveries.stop)
        runner = env.start_runner(
            deliveries, injector=lambda ctx: RecordingFaults(ctx, self.timeline, proxies)
        )
        monitor = self.monitor = self._monitor(prometheus)
        return runner, monitor.start()

    def _preflight(
        self, prom: PrometheusClient, am: AlertmanagerClient, api: ToxiproxyAPI, proxies: list[str]
    ) -> None:
        """Every backend answers and every proxy to touch exists and is clean, before any load."""
        prom.alerts()
        am.active_alerts()
        for name in proxies:
            state = api.state(name)
            if not state.clean:
                raise FaultError(
                    f"proxy {name} is not clean before the game day (enabled={state.enabled}, "
                    f"toxics={list(state.toxics)}); refusing to start"
                )

    def _monitor(self, prometheus: PrometheusClient) -> AbortMonitor:
        plan = self.p.plan
        allowed = frozenset(self.expected) | frozenset(plan.may_fire)
        policy = AbortPolicy(self.p.config.abort_on, allowed)
        slo = self._impact_slo()
        scale = self.p.timing.time_scale
        meter = BudgetMeter(prometheus, slo, self.timeline.started_at, scale) if slo else None
        self.meter = meter
        watched = meter if self.p.config.abort_on.error_budget_burned else None
        return AbortMonitor(policy, prometheus, watched)

    def _impact_slo(self) -> AvailabilitySlo | None:
        limit = self.p.config.abort_on.error_budget_burned
        names = [limit.slo] if limit else []
        names += [s.name for s in (*self.p.plan.slos_violated, *self.p.plan.slos_held)]
        for name in names:
            slo = self.p.catalog.slo(name)
            if isinstance(slo, AvailabilitySlo):
                return slo
        return None

    def progress(self, message: str) -> None:
        self.live(message)
        kind = Kind.MITIGATION if f"] {MITIGATION_APPLIED}" in message else Kind.PHASE
        self.timeline.add(kind, self.p.plan.scenario, message.split("] ", 1)[-1])

    def _aborted(self, reason: str) -> None:
        self.timeline.abort_reason = reason
        self.timeline.add(Kind.ABORT, "game day", reason)
        self.live(f"ABORT: {reason}; stopping load and rolling back every fault")

    # -- teardown and outputs -------------------------------------------------------------

    def _teardown(self) -> None:
        self.timeline.notes += self.env.close()

    def _finish(self, result: ScenarioResult | None) -> None:
        t = self.timeline
        t.ended_at = time.time()
        self._alert_events()
        if result is not None:
            t.checks = [CheckLine(c.kind, c.passed, c.message) for c in result.checks]
        t.impact = self._impact(result.load if result else None)
        if self.monitor is not None:
            t.notes += [f"abort conditions not evaluated: {e}" for e in self.monitor.errors[:5]]
        out, masker = self.request.out_dir, self.env.masker  # the deployment's real keys
        timeline = masker.data(t.to_json())
        (out / "timeline.json").write_text(json.dumps(timeline, indent=2) + "\n")
        (out / "timeline.md").write_text(masker.text(render_markdown(t)))
        (out / "postmortem.md").write_text(masker.text(render_postmortem(t)))
        masker.tree(out)  # Locust's output
        self.live(f"game day {t.outcome}; timeline and postmortem draft in {out}")

    def _alert_events(self) -> None:
        t = self.timeline
        watcher = self.env.observers.watcher if self.env.observers else None
        if watcher is None or self.deliveries is None:
            return
        states = {"pending": Kind.PENDING, "firing": Kind.FIRING, "inactive": Kind.RESOLVED}
        for c in watcher.changes(since=t.started_at):
            t.add(states.get(c.state, Kind.PHASE), c.alertname, "Prometheus", at=c.at)
        for n in self.deliveries.notifications(since=t.started_at):
            kind = Kind.NOTIFIED if n.status == "firing" else Kind.RESOLVED_NOTIFIED
            where = f"Alertmanager -> {n.receiver or '(no receiver)'}"
            for a in n.alerts:
                t.add(kind, a.name, where, at=n.received_at)

    def _impact(self, load: LoadResult | None) -> Impact:
        burn = None
        meter = self.meter
        if meter is not None:
            try:
                burn = meter.measure(time.time())
            except ObserveError as exc:
                self.timeline.notes.append(f"error budget not measured: {exc}")
        if load is None:
            stats = self.request.out_dir / self.p.plan.scenario / "locust_stats.csv"
            try:
                load = read_stats(stats)
            except HarnessError:
                load = None
        total = load.total if load is not None else None
        return Impact(
            slo=meter.slo.name if meter is not None else None,
            budget_burned_percent=burn.percent if burn else None,
            requests_prometheus=burn.total if burn else None,
            failed_requests_prometheus=burn.errors if burn else None,
            requests_locust=total.requests if total else None,
            failed_requests_locust=total.failures if total else None,
        )

    def _exit_code(self) -> int:
        t = self.timeline
        if t.rollback_verified is False:
            return EXIT_NOT_ROLLED_BACK
        if t.abort_reason is not None:
            return EXIT_ABORTED
        return EXIT_OK if t.checks and all(c.passed for c in t.checks) else EXIT_CHECKS_FAILED


def _interrupt_reason(exc: KeyboardInterrupt, monitor: AbortMonitor | None) -> str:
    """The abort condition that stopped the run, else the signal that did."""
    if monitor is not None and monitor.reason is not None:
        return monitor.reason
    signum = getattr(exc, "signum", None)
    return f"interrupted by signal {signum}" if signum else "interrupted (Ctrl-C)"


def preflight_gate(request: GamedayRequest, prepared: Prepared, live: LiveProgress) -> bool:
    """The contract checked against the deployment before any load or fault (changes
    nothing there); True when nothing blocks the scenario. Its report lands in the out dir."""
    scenario_path = Path(request.scenario)
    folder = request.catalog_dir or (
        find_catalog_dir(scenario_path) if scenario_path.is_file() else None
    )
    levers = load_levers(folder or request.scenarios_dir / "catalog")
    p = prepared
    expect = Expectations.of(p.catalog, [p.scenario], levers, p.timing)
    report = run_preflight(p.config.target(), expect, p.config.proxy)
    write_report(report, request.out_dir)
    blocking = report.blocking([p.scenario.name])
    for line in report.lines([p.scenario.name]):
        live(line)
    return not blocking


def run_gameday(request: GamedayRequest, live: LiveProgress) -> int:
    prepared = prepare(request)  # nothing starts on a bad input
    if not preflight_gate(request, prepared, live):
        live(f"game day not started: the deployment cannot pass {prepared.scenario.name}")
        return EXIT_CHECKS_FAILED
    return GameDay(request, prepared, live).run()
