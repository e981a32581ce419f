"""Evidence checks beyond alerts, as a scenario asks for them: log fields, error codes,
request-id correlation, traces, metric presence and secrets (spec §2.1, §2.2, §2.3, §7), one
module per family; this one picks each check's window and runs them after the load stops.

Each family turns what the log, span and Prometheus stores hold into one `Check` (or one
per item) that can fail; every message says what was expected and what was seen, with counts
and one sample, never a secret. Check ids are `<scenario>::<kind>[::<detail>]`.

An empty window never passes: a check that saw no evidence proves nothing, and "no log line
at all" is exactly the failure an instrumentation regression produces.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from harness.checks.buckets import LatencyThreshold, latency_buckets
from harness.checks.config_drift import DriftReader, config_drift
from harness.checks.correlation import CorrelationHop, request_id_correlation
from harness.checks.error_codes import log_error_codes
from harness.checks.label_values import label_values_present
from harness.checks.log_fields import log_fields
from harness.checks.metrics import metrics_present
from harness.checks.results import Check, PhaseTimes
from harness.checks.secrets import Secret, no_secret_in_logs
from harness.checks.traces import trace_continuity
from harness.observe.logs import LogStore
from harness.observe.metrics_presence import InstantQuery
from harness.observe.traces import SpanStore, TracePath
from harness.spec.metrics import Metric


def evidence_unavailable(scenario: str, kind: str, reason: str, detail: str = "") -> Check:
    """A failed check for evidence the target cannot provide (e.g. no readable log directory)."""
    return Check.of(scenario, kind, False, f"no evidence to judge: {reason}", detail)


@dataclass(frozen=True)
class Correlation:
    """One request-id chain: `origin`'s forwarded requests must reach every hop."""

    hops: tuple[CorrelationHop, ...]
    origin: str = "edge"


@dataclass(frozen=True)
class EvidencePlan:
    """Which evidence checks a scenario runs (empty / False: that check is not run)."""

    log_services: tuple[str, ...] = ()
    error_codes: tuple[str, ...] = ()
    correlations: tuple[Correlation, ...] = ()
    traces: tuple[TracePath, ...] = ()
    metrics: tuple[str, ...] = ()  # catalogue names of the metrics that must be present
    no_secrets: bool = False


@dataclass(frozen=True)
class EvidenceSources:
    """Where the evidence is read; None: the target does not expose it."""

    logs: LogStore | None
    spans: SpanStore | None
    query: InstantQuery
    metrics: Mapping[str, Metric]
    jobs: Collection[str] | None = None  # Prometheus jobs scraped (the target's services)
    secrets: tuple[Secret, ...] = ()
    latency_thresholds: tuple[LatencyThreshold, ...] = ()  # judged with the metrics
    drift: DriftReader | None = None  # the target's rules and routing, judged with the metrics
    signatures: Callable[[], frozenset[str]] = frozenset  # hex digests the run's load sent


def _logs_checks(scenario: str, plan: EvidencePlan, logs: LogStore, p: PhaseTimes) -> list[Check]:
    """Windows: fields over everything judged (baseline to end: error paths too); codes over
    the fault (without a fault, where it would have been, so the check fails); correlation
    from the baseline to the fault's end, leaving the recovery for queued jobs to run."""
    checks: list[Check] = []
    if plan.log_services:
        since, until = p.baseline_start, p.end
        checks.append(log_fields(scenario, logs, plan.log_services, since=since, until=until))
    f0, f1 = p.fault_start or p.baseline_end, p.fault_end or p.end
    checks += log_error_codes(scenario, logs, plan.error_codes, since=f0, until=f1)
    until = p.fault_end or p.baseline_end
    for chain in plan.correlations:
        checks.append(
            request_id_correlation(
                scenario, logs, chain.hops, since=p.baseline_start, until=until, origin=chain.origin
            )
        )
    return checks


def _unavailable_logs(scenario: str, plan: EvidencePlan) -> list[Check]:
    why = "the target exposes no readable log directory"
    checks = [evidence_unavailable(scenario, "log_fields", why)] if plan.log_services else []
    checks += [evidence_unavailable(scenario, "log_error_codes", why, c) for c in plan.error_codes]
    for chain in plan.correlations:
        detail = ">".join([chain.origin, *(h.service for h in chain.hops)])
        checks.append(evidence_unavailable(scenario, "request_id_correlation", why, detail))
    if plan.no_secrets:
        checks.append(evidence_unavailable(scenario, "no_secret_in_logs", why))
    return checks


def _trace_checks(
    scenario: str, plan: EvidencePlan, spans: SpanStore | None, p: PhaseTimes
) -> list[Check]:
    if spans is None:
        why = "the target exposes no readable span directory"
        return [
            evidence_unavailable(scenario, "trace_continuity", why, t.name) for t in plan.traces
        ]
    until = p.fault_end or p.baseline_end
    return [
        trace_continuity(scenario, spans, path, since=p.baseline_start, until=until)
        for path in plan.traces
    ]


def evidence_checks(
    scenario: str, plan: EvidencePlan, sources: EvidenceSources, phases: PhaseTimes
) -> list[Check]:
    """Every evidence check `plan` asks for, each over the window that fits it; run after the
    load has stopped. Metrics are judged at the end of the run, secrets over the whole run."""
    logs = sources.logs
    checks = (
        _logs_checks(scenario, plan, logs, phases)
        if logs is not None
        else _unavailable_logs(scenario, plan)
    )
    checks += _trace_checks(scenario, plan, sources.spans, phases)
    if plan.metrics:
        checks.append(
            metrics_present(
                scenario,
                sources.query,
                sources.metrics,
                at=phases.end,
                only=plan.metrics,
                jobs=sources.jobs,
            )
        )
        if sources.drift is not None:
            checks.append(config_drift(scenario, sources.drift))
        if sources.latency_thresholds:
            checks.append(
                latency_buckets(scenario, sources.query, sources.latency_thresholds, phases.end)
            )
        # Every named value (queue, status...) as the healthy baseline ends.
        at = phases.baseline_end
        checks.append(
            label_values_present(scenario, sources.query, sources.metrics, at=at, only=plan.metrics)
        )
    if plan.no_secrets and logs is not None:
        checks.append(
            no_secret_in_logs(
                scenario,
                sources.secrets,
                logs,
                sources.spans,
                since=phases.load_start,
                signatures=sources.signatures(),
            )
        )
    return checks
