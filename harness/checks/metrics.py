"""metrics_present (spec §2.2): every catalogued metric has a series with its required labels,
from every job that should expose it."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping

from harness.checks.results import Check
from harness.errors import ObserveError
from harness.observe.metrics_presence import InstantQuery, MetricPresence, probe_catalog
from harness.spec.metrics import Metric


def _describe_metric(p: MetricPresence) -> str:
    if not p.present:
        return f"{p.metric} (no series {p.series})"
    if p.complete_rows == 0:
        lacking = ", ".join(p.missing_labels) or "all of them together"
        has = ", ".join(p.example_labels) or "no label"
        return (
            f"{p.metric} (needs {', '.join(p.required)}; no series has {lacking}; "
            f"a series has: {has})"
        )
    return f"{p.metric} (not exposed by job(s) {', '.join(p.missing_jobs)})"


def metrics_present(
    scenario: str,
    query: InstantQuery,
    metrics: Mapping[str, Metric],
    *,
    at: float,
    only: Iterable[str] | None = None,
    jobs: Collection[str] | None = None,
) -> Check:
    """Every catalogued metric (or those in `only`) has, at `at`, a series carrying each of
    its required labels, non-empty; with `jobs`, from every listed job that should expose it."""
    try:
        probes = probe_catalog(query, metrics, at, only, jobs)
    except ObserveError as exc:
        return Check.of(scenario, "metrics_present", False, f"Prometheus could not be read: {exc}")
    failed = [p for p in probes if not p.ok]
    when = time.strftime("%H:%M:%SZ", time.gmtime(at))
    if not failed:
        msg = (
            f"all {len(probes)} catalogued metrics have a series with their required labels "
            f"at {when}"
        )
        return Check.of(scenario, "metrics_present", True, msg)
    groups = {
        "absent": [p for p in failed if not p.present],
        "missing labels": [p for p in failed if p.present and p.complete_rows == 0],
        "missing jobs": [p for p in failed if p.complete_rows > 0],
    }
    parts = [
        f"{what}: " + "; ".join(_describe_metric(p) for p in found)
        for what, found in groups.items()
        if found
    ]
    msg = (
        f"expected each of {len(probes)} catalogued metrics to have a series with its required "
        f"labels at {when}; {len(failed)} do not. " + " | ".join(parts)
    )
    return Check.of(scenario, "metrics_present", False, msg)
