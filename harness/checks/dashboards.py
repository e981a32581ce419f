"""Dashboard checks: a panel shows data in the healthy baseline; a panel moves during a fault.

Both read the series captured once at the scenario's end (harness.observe.series), so the
verdict and the plot in the report come from the same data. Messages name the dashboard and
the panel by their titles: what the on-call engineer would be looking at.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.checks.results import Check
from harness.dashboards.expect import Direction, Move
from harness.dashboards.plan import DashboardPlan, PanelPlan
from harness.observe.series import CapturedSeries, totals_between

HAS_DATA = "dashboard_panel_has_data"
MOVES = "dashboard_panel_moves"


@dataclass(frozen=True)
class Windows:
    """The scenario's baseline and fault windows, unix seconds (fault: None without faults)."""

    baseline_start: float
    baseline_end: float
    fault_start: float | None
    fault_end: float | None


def dashboard_checks(
    scenario: str, plan: DashboardPlan, captured: Iterable[CapturedSeries], windows: Windows
) -> list[Check]:
    """One check per panel of `have_data`, then one per panel of `moves`."""
    by_key = {c.spec.key: c for c in captured}
    checks = [panel_has_data(scenario, plan.panel(k), by_key, windows) for k in plan.have_data]
    checks += [panel_moves(scenario, plan.panel(k), m, by_key, windows) for k, m in plan.moves]
    return checks


def _check(kind: str, scenario: str, panel: PanelPlan, passed: bool, message: str) -> Check:
    return Check(
        f"{scenario}::{kind}::{panel.key}", kind, scenario, passed, f"{panel.name}: {message}"
    )


def _query_problem(expr: str, found: CapturedSeries | None, start: float, end: float) -> str | None:
    if found is None:
        return f"query {expr!r} was not captured"
    if found.error is not None:
        return f"query {expr!r} failed: {found.error}"
    if not found.values_between(start, end):
        return f"query {expr!r} returned no samples"
    return None


def panel_has_data(
    scenario: str, panel: PanelPlan, captured: Mapping[str, CapturedSeries], windows: Windows
) -> Check:
    """Every query of the panel returned samples in the baseline, and none failed."""
    start, end = windows.baseline_start, windows.baseline_end
    expected = f"expected data from every query in the {end - start:.1f} s baseline"
    found = [(q.expr, captured.get(q.key)) for q in panel.queries]
    problems = [p for e, c in found if (p := _query_problem(e, c, start, end)) is not None]
    if problems:
        return _check(HAS_DATA, scenario, panel, False, f"{expected}; {'; '.join(problems)}")
    series = sum(
        1 for _, c in found if c is not None for s in c.sets if _within(s.points, start, end)
    )
    seen = f"saw {series} series from {len(found)} query(ies)"
    return _check(HAS_DATA, scenario, panel, True, f"{expected}; {seen}")


def _within(points: Iterable[tuple[float, float]], start: float, end: float) -> bool:
    return any(start <= t <= end for t, _ in points)


def panel_total(series: Iterable[CapturedSeries], start: float, end: float) -> float | None:
    """The panel's total (every series of every query added up at each step), averaged over
    the steps in [start, end); None when there is no sample there."""
    totals = totals_between(series, start, end)
    return sum(totals) / len(totals) if totals else None


def moved(before: float, after: float, move: Move) -> bool:
    """Whether `after` is beyond `before` by the move's ratio, in its direction."""
    if move.direction is Direction.UP:
        return after > before and after >= before * move.ratio
    return after < before and after <= before / move.ratio


def _ratio(before: float, after: float) -> str:
    if before == 0:
        return "x inf" if after else "x 1"
    return f"x {after / before:.3g}"


def panel_moves(
    scenario: str,
    panel: PanelPlan,
    move: Move,
    captured: Mapping[str, CapturedSeries],
    windows: Windows,
) -> Check:
    """The panel's total over the fault window against the baseline just before it."""
    verb = "rise" if move.direction is Direction.UP else "fall"
    b0, b1, f0 = windows.baseline_start, windows.baseline_end, windows.fault_start
    if f0 is None:
        expected = f"expected to {verb} by x {move.ratio:g} during the fault"
        return _check(MOVES, scenario, panel, False, f"{expected}; the scenario had no fault")
    f1 = windows.fault_end if windows.fault_end is not None else math.inf
    expected = (
        f"expected its total to {verb} by x {move.ratio:g} or more in the fault window "
        f"({f1 - f0:.1f} s) against the {b1 - b0:.1f} s baseline before it"
    )
    series = [c for q in panel.queries if (c := captured.get(q.key)) is not None]
    errors = [f"query {c.spec.expr!r} failed: {c.error}" for c in series if c.error]
    before, after = panel_total(series, b0, b1), panel_total(series, f0, f1)
    if errors or before is None or after is None or len(series) < len(panel.queries):
        missing = "; ".join(errors) or "no samples in the baseline or the fault window"
        return _check(MOVES, scenario, panel, False, f"{expected}; {missing}")
    seen = f"saw {before:.4g} -> {after:.4g} ({_ratio(before, after)})"
    return _check(MOVES, scenario, panel, moved(before, after, move), f"{expected}; {seen}")
