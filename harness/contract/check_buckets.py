"""Preflight, latency thresholds: each is a bucket edge of its histogram on the target.

The same judgement as the suite's `latency_buckets` check (harness.checks.buckets), before any
scenario: a histogram without an SLO's edge makes every p95 verdict of that SLO an
interpolation. A histogram with no series yet (no request served) is noted, not a gap.
"""

from __future__ import annotations

from harness.checks.buckets import edges, latency_thresholds, missing_edges
from harness.contract.gaps import Gap
from harness.contract.model import Contract
from harness.observe.prometheus import PrometheusClient
from harness.spec.catalog import Catalog


def check_latency_edges(
    catalog: Catalog, contract: Contract, prom: PrometheusClient
) -> tuple[list[Gap], list[str]]:
    """Gaps naming metric and threshold, and notes for histograms not yet observed."""
    gaps: list[Gap] = []
    notes: list[str] = []
    for threshold in latency_thresholds(catalog.slos, catalog.alerts):
        if not edges(prom.query, threshold.series, None):
            notes.append(f"{threshold.series}: no series yet ({threshold} unverified)")
            continue
        blocks = _blocks(catalog, contract, threshold.series, threshold.owner)
        for problem in missing_edges(prom.query, [threshold], None):
            reason = problem.removeprefix(f"{threshold.series}: ")
            gaps.append(Gap("buckets", threshold.series, reason, blocks))
    return gaps, list(dict.fromkeys(notes))


def _blocks(catalog: Catalog, contract: Contract, series: str, owner: str) -> tuple[str, ...]:
    """Scenarios that read the histogram or the alert the threshold belongs to."""
    names = [n for n, m in catalog.metrics.items() if series in m.exposed_series]
    blocked = {s for n in names for s in contract.blocked_by_metric(n)}
    kind, _, name = owner.partition(" ")
    if kind == "alert":
        blocked |= set(contract.blocked_by_alert(name))
    return tuple(s.name for s in contract.scenarios if s.name in blocked)
