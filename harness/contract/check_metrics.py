"""Preflight, metrics: every scrape target up, every metric declared, labelled and bucketed.

Read from Prometheus, as the suite reads them (a metric Prometheus does not scrape is a metric
no alert sees). Three sources, one question each:

- `/api/v1/targets`: is each service of the contract a scrape target, and up?
- `/api/v1/targets/metadata`: does each service that must expose a metric declare it, with
  its type? (A declared family counts before any traffic: a labelled counter has no series
  until its first increment.)
- series: do they carry the contract's labels (`count by (labels)`), and does a histogram
  have every bucket edge (`count by (le)`)? A metric declared without any series yet is
  noted as unverified, not counted as a gap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from harness.contract.gaps import Gap
from harness.contract.model import Contract, MetricTerm
from harness.observe.metrics_presence import probe_metric
from harness.observe.prometheus import PrometheusClient
from harness.spec.metrics import Metric, MetricType

TIMEOUT_S = 5.0


def scrape_jobs(targets: list[dict[str, Any]]) -> dict[str, str | None]:
    """job -> None when at least one of its targets is up, else the last scrape error."""
    jobs: dict[str, str | None] = {}
    for t in targets:
        job = t.get("labels", {}).get("job", "")
        if t.get("health") == "up":
            jobs[job] = None
        elif jobs.get(job, "") is not None:
            jobs[job] = t.get("lastError") or f"health {t.get('health')}"
    return jobs


def check_services(contract: Contract, jobs: Mapping[str, str | None]) -> list[Gap]:
    gaps = []
    for service in contract.services:
        if service in jobs and jobs[service] is None:
            continue
        pinned = {m.name for m in contract.metrics if service in m.jobs}
        blocks = {*contract.blocked_by_service(service)}
        blocks |= {s for name in pinned for s in contract.blocked_by_metric(name)}
        reason = (
            f"no Prometheus scrape target has job={service}"
            if service not in jobs
            else f"scrape target down: {jobs[service]}"
        )
        gaps.append(Gap("service", service, reason, _ordered(contract, blocks)))
    return gaps


def _ordered(contract: Contract, names: set[str]) -> tuple[str, ...]:
    return tuple(s.name for s in contract.scenarios if s.name in names)


def _family_names(term: MetricTerm) -> tuple[str, ...]:
    """Names a client may declare the family under (OpenMetrics drops `_total`)."""
    return tuple(
        dict.fromkeys((term.series, term.series.removesuffix("_bucket").removesuffix("_total")))
    )


def check_metric(
    term: MetricTerm,
    metric: Metric,
    *,
    declared: Mapping[str, Mapping[str, str]],
    up: set[str],
    prom: PrometheusClient,
    contract: Contract,
) -> tuple[list[Gap], str | None]:
    """Gaps of one metric, and a note when its series could not be verified."""
    blocks = contract.blocked_by_metric(term.name)
    names = _family_names(term)
    types = {job: kinds[n] for job, kinds in declared.items() for n in names if n in kinds}
    presence = probe_metric(prom.query, term.name, metric, time.time(), jobs=up)
    gaps: list[Gap] = []
    # A service exposes it when it declares the family or has a series of it.
    missing = [j for j in term.jobs if j in presence.missing_jobs and j not in types]
    if missing or (not term.jobs and not types and not presence.present):
        where = f"job(s) {', '.join(missing)}" if missing else "any scrape target"
        gaps.append(Gap("metric", term.name, f"`{term.series}` is not exposed by {where}", blocks))
    wrong = sorted(j for j, kind in types.items() if kind not in (term.type, "unknown", ""))
    if wrong:
        kinds = ", ".join(f"{j}: {types[j]}" for j in wrong)
        reason = f"declared with another type ({kinds}); the contract says {term.type}"
        gaps.append(Gap("metric", term.name, reason, blocks))
    if not presence.present:
        unverified = types and not missing
        note = f"{term.name}: declared, no series yet (labels and buckets unverified)"
        return gaps, note if unverified else None
    if not presence.complete_rows:
        carries = f" (a series carries {', '.join(presence.example_labels) or 'no label'})"
        reason = f"series lack label(s) {', '.join(presence.missing_labels)}{carries}"
        gaps.append(Gap("labels", term.name, reason, blocks))
    if metric.type is MetricType.HISTOGRAM and metric.buckets:
        gaps += _bucket_gaps(term, metric.buckets, prom, blocks)
    return gaps, None


def _bucket_gaps(
    term: MetricTerm, edges: tuple[float, ...], prom: PrometheusClient, blocks: tuple[str, ...]
) -> list[Gap]:
    rows = prom.query(f'count by (le) ({{__name__="{term.series}"}})')
    seen = {float(r.labels["le"]) for r in rows if r.labels.get("le")}
    absent = [e for e in edges if not any(math.isclose(e, s, rel_tol=1e-9) for s in seen)]
    if not absent:
        return []
    found = ", ".join(f"{s:g}" for s in sorted(seen) if math.isfinite(s))
    reason = f"bucket edge(s) {', '.join(f'{e:g}' for e in absent)} missing (has {found})"
    return [Gap("buckets", term.name, reason, blocks)]


def check_metrics(
    contract: Contract, metrics: Mapping[str, Metric], prom: PrometheusClient, up: set[str]
) -> tuple[list[Gap], list[str]]:
    """Gaps and notes of every metric of the contract."""
    declared = prom.declared_metrics()
    gaps: list[Gap] = []
    notes: list[str] = []
    for term in contract.metrics:
        found, note = check_metric(
            term,
            metrics[term.name],
            declared=declared,
            up=up,
            prom=prom,
            contract=contract,
        )
        gaps += found
        notes += [note] if note else []
    return gaps, notes
