"""From a run's typed results to chart descriptions: scenario time plots and alert budgets.

Times on a scenario plot are seconds since its load started; the phases give the shaded
windows and the alert checks give the lifecycle marks (pending, firing and notified timed from
the fault's start, resolved from the fault's end, or from the mitigation for a check of the
mitigation).
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.report.model import CheckView, PhasesView, RunView, ScenarioView, SeriesView
from harness.report.svg import Band, BudgetBar, Line, Mark, TimePlot

ALERT_SERIES_KIND = "alert"


def phase_bands(phases: PhasesView) -> list[Band]:
    bands: list[Band] = []
    base = (phases.offset_s(phases.baseline_start), phases.offset_s(phases.baseline_end))
    if base[0] is not None and base[1] is not None:
        bands.append(Band("baseline", base[0], base[1]))
    fault_end = phases.fault_end or phases.end
    fault = (phases.offset_s(phases.fault_start), phases.offset_s(fault_end))
    if fault[0] is not None and fault[1] is not None:
        bands.append(Band("fault", fault[0], fault[1]))
    mitigation = phases.offset_s(phases.mitigation_start)
    if mitigation is not None and fault[1] is not None:
        bands.append(Band("mitigation", mitigation, fault[1]))
    return bands


def alert_marks(phases: PhasesView, checks: Iterable[CheckView], label_alert: bool) -> list[Mark]:
    """One mark per lifecycle event of each alert check, deduplicated (fires and delivered
    checks carry the same times)."""
    fault = phases.offset_s(phases.fault_start)
    fault_end = phases.offset_s(phases.fault_end)
    mitigation = phases.offset_s(phases.mitigation_start)
    seen: dict[tuple[str, str], Mark] = {}
    for c in checks:
        if c.alert is None or c.budget_s is None:
            continue  # not an alert lifecycle check
        resolved = "resolved"
        resolve_origin = fault_end
        if c.kind == "alert_resolves_under_mitigation":
            resolved, resolve_origin = "resolved (mitigation)", mitigation
        events = [
            ("pending", "pending", fault, c.time_to_pending_s),
            ("firing", "firing", fault, c.time_to_firing_s),
            ("notified", "notified", fault, c.time_to_notification_s),
            ("resolved", resolved, resolve_origin, c.time_to_resolved_s),
        ]
        for kind, text, origin, delta in events:
            if origin is None or delta is None:
                continue
            label = f"{c.alert} {text}" if label_alert else text
            seen.setdefault((c.alert, text), Mark(kind, origin + delta, label))
    return sorted(seen.values(), key=lambda m: m.at)


def series_plot(scenario: ScenarioView, series: SeriesView, checks: list[CheckView]) -> TimePlot:
    """A series over the scenario; an alert's own signal gets only that alert's marks."""
    origin = scenario.phases.load_start
    start = origin.timestamp() if origin else 0.0
    lines = [
        Line(_set_label(s.labels, series.title), [(t - start, v) for t, v in s.points])
        for s in series.sets
    ]
    own = series.kind == ALERT_SERIES_KIND
    relevant = [c for c in checks if c.alert == series.key] if own else checks
    note = f"query failed: {series.error}" if series.error else "no data"
    return TimePlot(
        title=series.title,
        duration_s=scenario.phases.duration_s or 1.0,
        lines=lines,
        bands=phase_bands(scenario.phases),
        marks=alert_marks(scenario.phases, relevant, label_alert=not own),
        threshold=series.threshold,
        note=note,
    )


def budget_bars(run: RunView) -> list[BudgetBar]:
    """Time to firing against the budget, one bar per `alert_fires` check."""
    return [
        BudgetBar(
            label=f"{c.alert} · {c.scenario}",
            value=c.time_to_firing_s,
            budget=c.budget_s,
            floor=c.floor_s,
            passed=c.passed,
        )
        for c in run.firing_checks
    ]


def _set_label(labels: dict[str, str], fallback: str) -> str:
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if not shown:
        return fallback
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
