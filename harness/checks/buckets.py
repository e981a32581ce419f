"""latency_buckets: every latency SLO and latency alert threshold is a bucket edge of the
histogram it is judged on, on the target.

`histogram_quantile` is exact only at bucket edges; between two edges it interpolates, so a
p95 "at most 400 ms" judged on a histogram without a 0.4 edge is a guess that can pass a
breach or fail a healthy build. The edges are read from what the target exposes (through
the Prometheus that scrapes it, `count by (le)` of the histogram with the SLO's or the
alert's own selector), never from the fakes' code, so a build that ships the client
library's default buckets fails here by metric and threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from harness.checks.results import Check
from harness.observe.metrics_presence import InstantQuery
from harness.spec import promql
from harness.spec.alerts import Alert
from harness.spec.slo import LatencySlo, Slo

KIND = "latency_buckets"
QUANTILE_FUNCTION = "histogram_quantile"


@dataclass(frozen=True)
class LatencyThreshold:
    """A threshold judged on a histogram: who sets it, the `_bucket` series and selector."""

    owner: str  # "SLO studio-api-read-latency" | "alert ApiHighLatencyP95"
    series: str
    selector: str  # the PromQL selector the verdict reads, e.g. x_bucket{job="edge"}
    threshold_s: float

    def __str__(self) -> str:
        return f"{self.threshold_s:g} s of {self.owner}"


def latency_thresholds(
    slos: Iterable[Slo], alerts: Iterable[Alert], scale: float = 1.0
) -> tuple[LatencyThreshold, ...]:
    """Thresholds of the latency SLOs and of every `histogram_quantile(...) > N` alert."""
    found = [
        LatencyThreshold(
            f"SLO {s.name}", s.histogram, f"{s.histogram}{{{s.selector}}}", s.threshold_s
        )
        for s in slos
        if isinstance(s, LatencySlo)
    ]
    for alert in alerts:
        for comparison in promql.comparisons(promql.parse(alert.expr_at(scale))):
            if comparison.function != QUANTILE_FUNCTION:
                continue
            for selector in promql.selectors(comparison.call):
                name = promql.metric_name(selector)
                if name is not None and name.endswith("_bucket"):
                    text = str(selector)
                    found.append(
                        LatencyThreshold(f"alert {alert.name}", name, text, comparison.threshold)
                    )
    return tuple(found)


def edges(query: InstantQuery, selector: str, at: float | None) -> set[float]:
    """The finite bucket edges the series of `selector` carry at `at`."""
    rows = query(f"count by (le) ({selector})", at)
    found = {float(r.labels["le"]) for r in rows if r.labels.get("le")}
    return {e for e in found if math.isfinite(e)}


def missing_edges(
    query: InstantQuery, thresholds: Iterable[LatencyThreshold], at: float | None
) -> list[str]:
    """One line per threshold that is not an edge of its histogram on the target."""
    problems: list[str] = []
    for t in thresholds:
        seen = edges(query, t.selector, at) or edges(query, t.series, at)
        if not seen:
            problems.append(f"{t.series}: no series on the target to judge {t} on")
        elif not any(math.isclose(t.threshold_s, e, rel_tol=1e-9) for e in seen):
            has = ", ".join(f"{e:g}" for e in sorted(seen))
            problems.append(
                f"{t.series}: threshold {t} is not a bucket edge (edges: {has}); "
                "its verdict would be an interpolation"
            )
    return problems


def latency_buckets(
    scenario: str, query: InstantQuery, thresholds: tuple[LatencyThreshold, ...], at: float
) -> Check:
    """Passes when every threshold is an edge of the histogram it is judged on."""
    if not thresholds:
        return Check.of(scenario, KIND, False, "no latency threshold to check: nothing judged")
    problems = missing_edges(query, thresholds, at)
    if problems:
        msg = f"{len(problems)} latency threshold(s) not bucket edges: " + "; ".join(problems)
        return Check.of(scenario, KIND, False, msg)
    series = sorted({t.series for t in thresholds})
    msg = f"all {len(thresholds)} latency thresholds are bucket edges of {', '.join(series)}"
    return Check.of(scenario, KIND, True, msg)
