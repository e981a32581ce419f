"""fault_effective: every fault proves it acted, in the target's own signals.

A scenario's quiet verdicts (nothing fired, every SLO held) mean something under a fault only
if the fault is shown to act; a fault that leaves no trace cannot be told from one that did
nothing (a lever that injects at a ratio of 0, a proxy nothing goes through). Each fault's
signal (harness.spec.effects) is read over the whole scenario with the other captured series
and compared between the healthy baseline and the fault window:

- a rise is judged at the fault window's peak: an effect may start late in the window (extra
  load needs its Locust process started, a gauge its next refresh) and the fault is removed
  as soon as the alerts it must fire have, so its mean would understate it. Against the
  baseline's peak (x1.5), or its mean when the change is stated (`at_least`): noise in the
  baseline cannot pass for an effect either way;
- a fall is judged on the means: a fall must last, and one low point proves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.checks.dashboards import Windows
from harness.checks.results import Check
from harness.dashboards.expect import Direction
from harness.observe.series import CapturedSeries, SeriesSpec, totals_between

KIND = "fault_effective"
SERIES_KIND = "fault"
RISE = 1.5  # up, unless the change is stated: a peak x1.5 the baseline's or more
FALL = 2.0  # down, unless the change is stated: a mean half the baseline's or less


@dataclass(frozen=True)
class EffectProbe:
    """What shows that one fault acted; `series` None when nothing could be stated (why:
    `missing`)."""

    fault: str
    where: str  # what the fault does, as progress lines say it
    series: SeriesSpec | None
    direction: Direction = Direction.UP
    at_least: float | None = None  # the change required, in the signal's unit
    missing: str = ""
    # How far the signal trails the fault (its rate window and a scrape): the fault window is
    # judged that much longer, or an effect seen only by the last scrape before the fault's
    # removal (a gauge, an alert that fires at once) would fall outside it.
    lag_s: float = 0.0


@dataclass(frozen=True)
class Window:
    """A signal's mean and peak over one window."""

    mean: float
    peak: float


def window_stats(series: CapturedSeries, start: float, end: float) -> Window | None:
    """Mean and peak of the signal's total over [start, end) (None: no sample there)."""
    totals = totals_between([series], start, end)
    return Window(sum(totals) / len(totals), max(totals)) if totals else None


def acted(before: Window, during: Window, direction: Direction, at_least: float | None) -> bool:
    """Whether the signal moved as the fault's kind says it must (see the module doc)."""
    if direction is Direction.DOWN:
        if at_least is not None:
            return before.mean - during.mean >= at_least
        return before.mean > 0 and during.mean <= before.mean / FALL
    if at_least is not None:
        return during.peak - before.mean >= at_least
    return during.peak > before.peak and during.peak >= before.peak * RISE


def _seen(before: Window, during: Window, direction: Direction) -> str:
    if direction is Direction.DOWN:
        return f"saw a mean of {before.mean:.4g} in the baseline, {during.mean:.4g} in the fault"
    return (
        f"saw a mean of {before.mean:.4g} (peak {before.peak:.4g}) in the baseline, "
        f"a peak of {during.peak:.4g} in the fault window"
    )


def _expected(probe: EffectProbe) -> str:
    if probe.direction is Direction.DOWN:
        by = f"by {probe.at_least:.4g} or more" if probe.at_least is not None else "to half or less"
        return f"fall {by} on average"
    if probe.at_least is not None:
        return f"rise {probe.at_least:.4g} or more above its baseline mean"
    return f"rise to x{RISE:g} its baseline peak or more"


def fault_effective(
    scenario: str,
    probe: EffectProbe,
    captured: Mapping[str, CapturedSeries],
    windows: Windows,
) -> Check:
    """The fault's signal moved between the baseline and the fault window as it must."""
    head = f"fault {probe.fault} ({probe.where})"
    if probe.series is None:
        return Check.of(scenario, KIND, False, f"{head}: no effect to check: {probe.missing}",
                        probe.fault)  # fmt: skip
    expr = probe.series.expr
    expected = f"expected {expr} to {_expected(probe)} in the fault window against the baseline"
    found = captured.get(probe.series.key)
    f0, f1 = windows.fault_start, windows.fault_end
    if found is None or found.error is not None or f0 is None:
        why = found.error if found is not None and found.error else "not captured"
        return Check.of(scenario, KIND, False, f"{head}: {expected}; {why}", probe.fault)
    before = window_stats(found, windows.baseline_start, windows.baseline_end)
    # A rise is read as far as the signal trails the fault; a fall is not: once the fault is
    # removed, what it held back comes through at once (retried deliveries), and that burst
    # would be averaged into the fall.
    lag = probe.lag_s if probe.direction is Direction.UP else 0.0
    during = window_stats(found, f0, (f1 if f1 is not None else found.end) + lag)
    if before is None or during is None:
        seen = "no samples in the baseline or the fault window"
        return Check.of(scenario, KIND, False, f"{head}: {expected}; {seen}", probe.fault)
    passed = acted(before, during, probe.direction, probe.at_least)
    verdict = "acted" if passed else "showed no effect"
    seen = _seen(before, during, probe.direction)
    return Check.of(scenario, KIND, passed, f"{head} {verdict}: {expected}; {seen}", probe.fault)
