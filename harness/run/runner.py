"""Runs one scenario plan on a started session: warm-up, baseline, fault, recovery.

The timeline is driven by what is observed, not by fixed sleeps where an observation exists:
the fault is held until every expected alert has fired and been delivered (or its budget has
run out), and recovery lasts until every alert has resolved (or its resolve budget has).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from harness.checks.alerts import (
    AlertLifecycle,
    delivered_to_receiver,
    fires_within_budget,
    only_expected_fired,
    resolves_under_mitigation,
    resolves_within_budget,
)
from harness.checks.dashboards import Windows, dashboard_checks
from harness.checks.evidence import evidence_checks
from harness.checks.fault_effect import fault_effective
from harness.checks.quiet import Baseline, lookback_s, quiet_in_baseline
from harness.checks.results import Check, PhaseTimes, ScenarioResult
from harness.checks.slo import SloContext, Window, check_slo, client_routes, latency_crosscheck
from harness.errors import HarnessError
from harness.load.runner import LoadResult, LoadRun
from harness.observe.receiver import Notification
from harness.observe.series import SeriesCapture
from harness.run.faults import ActiveFault, send_all
from harness.run.observers import DeliveryLog, Observers
from harness.run.plan import ExpectedAlert, MitigationStep, Plan
from harness.run.progress import AlertTracker, LiveProgress, WatchedAlert
from harness.spec.slo import LatencySlo
from harness.spec.timescale import Timing
from harness.stack.target import Target

log = logging.getLogger("harness.run.runner")
Progress = Callable[[str], None]
# Announces the mitigation step; a progress reader (the game-day timeline) keys on it.
MITIGATION_APPLIED = "mitigation: "


class ScenarioRunner:
    def __init__(
        self,
        target: Target,
        timing: Timing,
        observers: Observers[DeliveryLog],
        out_dir: Path,
        progress: Progress = log.info,
        *,
        live: LiveProgress | None = None,  # shows the expected alerts' states while running
    ) -> None:
        self.target, self.timing, self.obs = target, timing, observers
        self.out_dir = out_dir
        self.progress = progress
        self.live = live
        self._mitigated_at: float | None = None  # of the scenario running now

    # -- the timeline ---------------------------------------------------------------------

    def run(self, plan: Plan) -> ScenarioResult:
        """Run the plan's timeline and judge it; a component dying on the way ends it at once
        with the `ComponentDied` naming it (also when a query failed first because of it)."""
        wire = self.obs.tripwire
        wire.check()
        wire.activity = f"scenario {plan.scenario}"
        try:
            return self._run(plan)
        except HarnessError as exc:
            death = wire.error
            if death is None or death is exc:
                raise
            raise death from exc
        finally:
            wire.activity = ""
            if self.live is not None:
                self.live.untrack()

    def _run(self, plan: Plan) -> ScenarioResult:
        self._settle()
        self._mitigated_at = None
        self._track(plan)
        identity = self.obs.faults.ctx.identity
        load = LoadRun(self.target.edge_url, identity, plan.load, self.out_dir / plan.scenario)
        with load:
            load_start = load.wait_running()
            self.progress(f"[{plan.scenario}] warm-up {plan.warmup_s:.1f} s under load")
            self.obs.tripwire.sleep(plan.warmup_s)
            b0 = time.time()
            self.progress(f"[{plan.scenario}] healthy baseline {plan.baseline_s:.1f} s")
            self.obs.tripwire.sleep(plan.baseline_s)
            b1 = time.time()
            f0, f1, lifecycles = self._fault_phase(plan)
            load_result = self._finish_load(load)
        end = time.time()
        # Judged now, not at b1: the baseline's last evaluations may not be readable yet then.
        quiet = self._quiet_check(plan, Baseline(b0, b1, load_start, self._tick))
        if self.live is not None:
            self.live.untrack()
        checks = [quiet, *self._alert_checks(plan, lifecycles), self._stray_check(plan, b1, end)]
        phases = PhaseTimes(load_start, b0, b1, f0, f1, end, self._mitigated_at)
        checks += self._slo_checks(plan, phases, load_result)
        # Evidence first: reading logs and traces takes the time the capture waits for anyway.
        if self.obs.evidence is not None:
            checks += evidence_checks(plan.scenario, plan.evidence, self.obs.evidence, phases)
        series = SeriesCapture(self.obs.prometheus, self.timing.scrape_interval_s)
        captured = series.capture(plan.captured, load_start, self._capture_end(plan, f1, end))
        windows = Windows(b0, b1, f0, f1)
        if plan.dashboards is not None:
            checks += dashboard_checks(plan.scenario, plan.dashboards, captured, windows)
        by_key = {c.spec.key: c for c in captured}
        checks += [fault_effective(plan.scenario, p, by_key, windows) for p in plan.effects]
        result = ScenarioResult(plan.scenario, checks, phases, load_result, tuple(plan.quiet))
        result.series = captured
        self.obs.tripwire.check()  # a verdict judged on a dead component's answers is none
        return result

    def _capture_end(self, plan: Plan, f1: float | None, end: float) -> float:
        """`end`, or later if a fault's signal trails the fault's removal further (a gauge
        refreshed once a second under a fault held for less): waits until Prometheus can hold
        that scrape. The fault window is judged up to `f1` plus that lag, no further."""
        tail = max((p.lag_s for p in plan.effects), default=0.0)
        until = max(end, (f1 if f1 is not None else end) + tail)
        self.obs.tripwire.sleep(max(0.0, until + self.timing.scrape_interval_s - time.time()))
        return until

    def _track(self, plan: Plan) -> None:
        if self.live is None:
            return
        expected = {e.name: e for e in (*plan.fires, *plan.resolves)}.values()
        alerts = [
            WatchedAlert(e.name, e.budget.budget_s, e.budget.resolve_budget_s) for e in expected
        ]
        tracker = AlertTracker(
            plan.scenario, alerts, self.obs.watcher, self.obs.receiver, self.obs.faults
        )
        self.live.track(tracker)

    def _settle(self) -> None:
        """Start from a clean slate: no fault left, nothing pending or firing.

        Where the series may be reset (see run/isolation.py), active alerts are not drained
        but cut off: one scrape after the rollback the samples are deleted, the alerts go
        inactive at the next evaluation, and Alertmanager's resolutions are awaited.
        """
        self.obs.faults.rollback_all()
        active = self.obs.watcher.current()
        if not active:
            return  # nothing to wait for
        since = time.time()
        if self.obs.reset is not None:
            # A scrape begun before the rollback has landed by now: what stays is healthy.
            self.obs.tripwire.sleep(self.timing.scrape_interval_s)
            self.obs.reset()
            # Right after the deletion every rule sees no data; only an evaluation of a fresh
            # scrape tells whether a condition still holds (a queue still draining).
            self.obs.tripwire.sleep(self.timing.scrape_interval_s + 2 * self._tick + 0.2)
        if not self.obs.tripwire.until(lambda: not self.obs.watcher.current(), timeout_s=60):
            raise HarnessError(
                f"alerts still active before the scenario: {self.obs.watcher.current()}"
            )
        if self.obs.reset is not None:
            self._await_resolutions([n for n, state in active.items() if state == "firing"], since)

    def _await_resolutions(self, alerts: list[str], since: float) -> None:
        """Alertmanager forgets a firing alert only once it resolved; a next firing of it is
        then notified anew. Bounded: an alert that fired unnotified gets no resolution."""
        limit = 2 * self.timing.group_interval_s + 2 * self._tick + 1.0
        self.obs.tripwire.until(
            lambda: all(self.obs.receiver.first(a, "resolved", since) for a in alerts),
            timeout_s=limit,
        )

    @property
    def _tick(self) -> float:
        return self.timing.eval_interval_s

    def _quiet_check(self, plan: Plan, window: Baseline) -> Check:
        b0, b1 = window.start, window.end
        since = b0 - lookback_s(plan.quiet, self._tick)
        samples = self.obs.prometheus.alert_samples(since, b1)
        notified = sorted(
            {a.name for n in self.obs.receiver.notifications(since=b0) if n.received_at <= b1
             for a in n.alerts if a.status == "firing"}
        )  # fmt: skip
        return quiet_in_baseline(plan.scenario, plan.quiet, samples, notified, window)

    def _slo_checks(self, plan: Plan, p: PhaseTimes, load: LoadResult | None) -> list[Check]:
        ctx = SloContext(
            plan.scenario, self.obs.prometheus, self.target.database_url, self.timing.time_scale
        )
        baseline = Window("baseline", p.baseline_start, p.baseline_end)
        checks = [check_slo(ctx, slo, baseline, want_held=True) for slo in plan.slos_held]
        if plan.slos_violated and p.fault_start is not None:
            fault = Window("fault", p.fault_start, p.fault_end or p.end)
            checks += [check_slo(ctx, slo, fault, want_held=False) for slo in plan.slos_violated]
        if plan.crosscheck_latency and load is not None:
            whole = Window("load", p.load_start, p.end)
            checks += [
                latency_crosscheck(ctx, slo, whole, load)
                for slo in plan.slos_held
                if isinstance(slo, LatencySlo) and client_routes(slo, load)
            ]
        return checks

    def _stray_check(self, plan: Plan, since: float, until: float) -> Check:
        allowed = [e.name for e in plan.fires] + list(plan.may_fire)
        active = self.obs.prometheus.alerts_active_between(since, until)
        return only_expected_fired(plan.scenario, allowed, active, until - since)

    def _fault_phase(
        self, plan: Plan
    ) -> tuple[float | None, float | None, dict[str, AlertLifecycle]]:
        if not plan.faults:
            # No fault: still watch the expected alerts for as long as a fault would have had.
            t0 = time.time()
            self._hold(plan, t0)
            lifecycles = self._lifecycles(plan, t0, fault_end=None)
            return None, None, lifecycles
        actives: list[ActiveFault] = []
        for fault in plan.faults:
            self.progress(f"[{plan.scenario}] fault {fault.name}: {fault.where}")
            actives.append(self.obs.faults.apply(fault))
        f0 = actives[0].started_at
        self._hold(plan, f0)
        mitigated: dict[str, AlertLifecycle] = {}
        if plan.mitigation is not None:
            mitigated = self._mitigate(plan, plan.mitigation, f0)
        f1 = f0
        for active in reversed(actives):
            f1 = self.obs.faults.remove(active)
        self.progress(f"[{plan.scenario}] fault removed; waiting for recovery")
        self._wait_resolved(plan, f1)
        return f0, f1, self._lifecycles(plan, f0, fault_end=f1) | mitigated

    def _mitigate(self, plan: Plan, step: MitigationStep, f0: float) -> dict[str, AlertLifecycle]:
        """Apply the mitigation once its trigger alerts fired; measure, faults still active.

        Lifecycles are keyed `<alert>@mitigation`, timed from the mitigation; the mitigation
        is rolled back before the faults are removed, so recovery is measured as usual.
        """
        if not all(self._fired(name, f0) for name in step.after_firing):
            self.progress(f"[{plan.scenario}] mitigation skipped: {step.after_firing} never fired")
            return {}
        self.progress(f"[{plan.scenario}] {MITIGATION_APPLIED}{', '.join(map(str, step.apply))}")
        memory: dict[str, str] = {}
        send_all(step.apply, self.target, memory)
        m0 = self._mitigated_at = time.time()
        try:
            longest = max((e.budget.resolve_budget_s for e in step.resolves), default=0.0)
            self.obs.tripwire.until(
                lambda: all(self._resolved(e.name, m0) for e in step.resolves),
                timeout_s=longest + self._margin(),
            )
            now = time.time()
            return {f"{e.name}@mitigation": self._lifecycle(e, f0, m0, now) for e in step.resolves}
        finally:
            send_all(step.rollback, self.target, memory)

    def _hold(self, plan: Plan, f0: float) -> None:
        longest = max((e.budget.budget_s for e in plan.fires), default=0.0)
        limit = plan.hold_s if plan.hold_s is not None else longest + self._margin()

        def settled() -> bool:
            return all(self._fired(e.name, f0) and self._notified(e.name, f0) for e in plan.fires)

        if plan.hold_s is not None:
            self.obs.tripwire.sleep(plan.hold_s)
        else:
            self.obs.tripwire.until(settled, timeout_s=limit, poll_s=0.05)

    def _wait_resolved(self, plan: Plan, f1: float) -> None:
        longest = max((e.budget.resolve_budget_s for e in plan.resolves), default=0.0)
        limit = plan.recovery_max_s or longest + self._margin()

        def resolved() -> bool:
            return all(self._resolved(e.name, f1) for e in plan.resolves)

        self.obs.tripwire.until(resolved, timeout_s=limit, poll_s=0.05)

    def _margin(self) -> float:
        """How long past a budget to keep watching, so 'late' can be told from 'never'."""
        return 4 * self.timing.eval_interval_s + 2.0

    def _fired(self, alert: str, since: float) -> bool:
        return self.obs.watcher.first(alert, "firing", since) is not None

    def _resolved(self, alert: str, since: float) -> bool:
        """Prometheus no longer has it active and Alertmanager delivered the resolution."""
        return (
            self.obs.watcher.first(alert, "inactive", since) is not None
            and self.obs.receiver.first(alert, "resolved", since) is not None
        )

    def _notified(self, alert: str, since: float) -> bool:
        return self.obs.receiver.first(alert, "firing", since) is not None

    def _finish_load(self, load: LoadRun) -> LoadResult | None:
        try:
            return load.result()
        except HarnessError as exc:
            log.warning("load results unavailable: %s", exc)
            return None

    # -- measurements -> checks -----------------------------------------------------------

    def _lifecycles(
        self, plan: Plan, f0: float, fault_end: float | None
    ) -> dict[str, AlertLifecycle]:
        now = time.time()
        expected = {e.name: e for e in (*plan.fires, *plan.resolves)}
        return {name: self._lifecycle(e, f0, fault_end, now) for name, e in expected.items()}

    def _lifecycle(
        self, e: ExpectedAlert, f0: float, f1: float | None, now: float
    ) -> AlertLifecycle:
        prom, rcv = self.obs.prometheus, self.obs.receiver
        pending = prom.alert_history(e.name, "pending", f0, now)
        firing = prom.alert_history(e.name, "firing", f0, now)
        note = rcv.first(e.name, "firing", f0)
        resolved_at = self._resolved_at(e.name, f1, firing)
        resolved_note = rcv.first(e.name, "resolved", f1) if f1 is not None else None
        return AlertLifecycle(
            alert=e.name,
            budget=e.budget,
            expected_receiver=e.receiver,
            time_to_pending_s=_since(f0, pending[0] if pending else None),
            time_to_firing_s=_since(f0, firing[0] if firing else None),
            time_to_notification_s=_since(f0, note.received_at if note else None),
            notified_receiver=note.receiver if note else None,
            time_to_resolved_s=_since(f1, resolved_at),
            time_to_resolved_notification_s=_since(
                f1, resolved_note.received_at if resolved_note else None
            ),
            waited_for_firing_s=(f1 or now) - f0,
            waited_for_resolve_s=now - f1 if f1 is not None else None,
            expected_severity=e.severity,
            notified_severity=_severity(note, e.name),
        )

    def _resolved_at(self, alert: str, f1: float | None, firing: list[float]) -> float | None:
        """First evaluation without the alert: the last firing sample plus one interval."""
        if f1 is None or not firing or self.obs.watcher.current().get(alert) == "firing":
            return None
        if self.obs.watcher.first(alert, "inactive", f1) is None:
            return None
        return max(firing[-1] + self.timing.eval_interval_s, f1)

    def _alert_checks(self, plan: Plan, lcs: dict[str, AlertLifecycle]) -> list[Check]:
        checks: list[Check] = []
        for e in plan.fires:
            checks += [
                fires_within_budget(plan.scenario, lcs[e.name]),
                delivered_to_receiver(plan.scenario, lcs[e.name]),
            ]
        checks += [resolves_within_budget(plan.scenario, lcs[e.name]) for e in plan.resolves]
        if plan.mitigation is not None:
            for e in plan.mitigation.resolves:
                lc = lcs.get(f"{e.name}@mitigation")
                checks.append(resolves_under_mitigation(plan.scenario, e.name, lc))
        return checks


def _severity(note: Notification | None, alert: str) -> str | None:
    """The `severity` label the notification carried for `alert`."""
    for a in note.alerts if note is not None else ():
        if a.name == alert and a.status == "firing":
            return a.labels.get("severity")
    return None


def _since(origin: float | None, moment: float | None) -> float | None:
    if origin is None or moment is None:
        return None
    return round(max(0.0, moment - origin), 3)
