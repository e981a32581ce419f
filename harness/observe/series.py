"""Time series captured over a scenario, for plots and for checks that compare windows.

A scenario names what to capture (`SeriesSpec`); at its end every spec is read once with a
range query over the whole scenario, so plots and window comparisons use the same data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from harness.errors import ObserveError

MAX_POINTS = 600  # Prometheus refuses more than 11000 per series; a plot needs far fewer


@dataclass(frozen=True)
class SeriesSpec:
    """What to capture: `kind` says who asked ("alert" signal, dashboard "panel", ...)."""

    key: str
    title: str
    expr: str
    kind: str
    threshold: float | None = None  # drawn as a line when set (an alert's threshold)


@dataclass(frozen=True)
class SeriesPoints:
    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]  # (unix seconds, value), NaN dropped


@dataclass(frozen=True)
class CapturedSeries:
    spec: SeriesSpec
    start: float
    end: float
    step_s: float
    sets: tuple[SeriesPoints, ...] = ()
    error: str | None = None  # the query failed; `sets` is empty

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.sets)

    def values_between(self, start: float, end: float) -> list[float]:
        """Every value of every labelled series with a timestamp in [start, end]."""
        return [v for s in self.sets for t, v in s.points if start <= t <= end]


def totals_between(series: Iterable[CapturedSeries], start: float, end: float) -> list[float]:
    """Every labelled series of every capture added up at each step in [start, end), in time
    order (half-open: a step on the boundary of two windows belongs to the later one)."""
    totals: dict[float, float] = {}
    for captured in series:
        for labelled in captured.sets:
            for t, v in labelled.points:
                if start <= t < end:
                    totals[t] = totals.get(t, 0.0) + v
    return [totals[t] for t in sorted(totals)]


class RangeQuery(Protocol):
    def query_range(
        self, promql: str, start: float, end: float, step_s: float
    ) -> list[SeriesPoints]: ...


@dataclass
class SeriesCapture:
    """Reads every spec over [start, end] with one step fitting MAX_POINTS."""

    source: RangeQuery
    min_step_s: float = 1.0
    captured: list[CapturedSeries] = field(default_factory=list)

    def capture(
        self, specs: Iterable[SeriesSpec], start: float, end: float
    ) -> list[CapturedSeries]:
        step = max(self.min_step_s, (end - start) / MAX_POINTS)
        out = [self._one(spec, start, end, step) for spec in specs]
        self.captured += out
        return out

    def _one(self, spec: SeriesSpec, start: float, end: float, step: float) -> CapturedSeries:
        try:
            sets = self.source.query_range(spec.expr, start, end, step)
        except ObserveError as exc:
            return CapturedSeries(spec, start, end, step, error=str(exc))
        return CapturedSeries(spec, start, end, step, tuple(sets))
