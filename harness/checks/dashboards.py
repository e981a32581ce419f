"""Dashboard checks: a panel shows data in the healthy baseline; a panel moves during a fault.

Both read the series captured once at the scenario's end (harness.observe.series), so the
verdict and the plot in the report come from the same data. Messages name the dashboard and
the panel by their titles: what the on-call engineer would be looking at.
"""

from __future__ import annotations

import dataclasses
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
    for key, move in plan.moves:
        panel = plan.panel(key)
        if not move.each:
            checks.append(panel_moves(scenario, panel, move, by_key, windows))
            continue
        checks += [
            value_moves(scenario, panel, move, selector, captured=by_key, windows=windows)
            for selector in move.label_values
        ]
    return checks


def _check(
    kind: str, scenario: str, panel: PanelPlan, passed: bool, message: str, *, item: str = ""
) -> Check:
    return Check(
        f"{scenario}::{kind}::{panel.key}{item}", kind, scenario, passed, f"{panel.name}: {message}"
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


def _only(series: CapturedSeries, label: str, value: str) -> CapturedSeries:
    sets = tuple(s for s in series.sets if s.labels.get(label) == value)
    return dataclasses.replace(series, sets=sets)


def _query_moved(
    series: CapturedSeries, move: Move, windows: Windows, f1: float
) -> tuple[bool, str]:
    """Whether one query's series (already narrowed to one label value) moved, and what was
    seen, as a message part naming the query."""
    name = f"query {series.spec.expr!r}"
    if series.error:
        return False, f"{name} failed: {series.error}"
    if not series.sets:
        return False, f"{name} has no series for it"
    assert windows.fault_start is not None
    before = panel_total([series], windows.baseline_start, windows.baseline_end)
    after = panel_total([series], windows.fault_start, f1)
    if before is None or after is None:
        return False, f"{name}: no samples in the baseline or the fault window"
    seen = f"{before:.4g} -> {after:.4g} ({_ratio(before, after)})"
    ok = moved(before, after, move)
    return ok, f"{name} {'moved' if ok else 'did not move'}: {seen}"


def value_moves(
    scenario: str,
    panel: PanelPlan,
    move: Move,
    selector: tuple[str, str],
    *,
    captured: Mapping[str, CapturedSeries],
    windows: Windows,
) -> Check:
    """The panel's series for `label`=`value` move, in every query of the panel: the total
    of all values cannot stand in for one of them, nor one query (a counter) for another
    (a gauge stuck at 0). `selector`: (label, value)."""
    label, value = selector
    verb = "rise" if move.direction is Direction.UP else "fall"
    item = f"[{label}={value}]"
    head = f"{label}={value} expected to {verb} by x {move.ratio:g} or more in every query"
    if windows.fault_start is None:
        return _check(
            MOVES, scenario, panel, False, f"{head}; the scenario had no fault", item=item
        )
    f1 = windows.fault_end if windows.fault_end is not None else math.inf
    context = (
        f"in the fault window ({f1 - windows.fault_start:.1f} s) against the "
        f"{windows.baseline_end - windows.baseline_start:.1f} s baseline before it"
    )
    results = []
    for query in panel.queries:
        found = captured.get(query.key)
        if found is None:
            results.append((False, f"query {query.expr!r} was not captured"))
        else:
            results.append(_query_moved(_only(found, label, value), move, windows, f1))
    passed = all(ok for ok, _ in results)
    # A failure lists the queries that did not move first: the message names the cause.
    parts = [m for ok, m in results if not ok] + [m for ok, m in results if ok]
    return _check(
        MOVES, scenario, panel, passed, f"{head} {context}; {'; '.join(parts)}", item=item
    )
