"""Domain-level metrics (spec §2.2 Domain-Level, §4.4, §5.2).

The `*_by_status` gauges are counts read from the database by a periodic query, never counters
kept in memory: they must agree with the data after a restart, across replicas, and when rows
change by another path (a worker, a migration).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fake_services.observability.metrics import JOB_BUCKETS


class StatusGauge:
    """Counts by status; every known status is always exported, at 0 when no row has it."""

    def __init__(
        self, registry: CollectorRegistry, name: str, doc: str, statuses: Iterable[str]
    ) -> None:
        self._statuses = tuple(statuses)
        self._gauge = Gauge(name, doc, ["status"], registry=registry)
        self.set({})

    def set(self, counts: Mapping[str, int]) -> None:
        for status in {*self._statuses, *counts}:
            self._gauge.labels(status=status).set(counts.get(status, 0))


class ClientHealthMetrics:
    """`client_health_status{status, tier}` counts clients; summed over tier it is the spec's
    `client_health_status{status}`. The tier label is what the §5.2 ops escalation needs
    (Churn Risk for a top-tier client), and the change counter makes "changed to" observable.
    """

    def __init__(
        self, registry: CollectorRegistry, statuses: Iterable[str], tiers: Iterable[str]
    ) -> None:
        self._keys = [(s, t) for s in statuses for t in tiers]
        self.gauge = Gauge(
            "client_health_status",
            "Clients by health_status and tier (from the database).",
            ["status", "tier"],
            registry=registry,
        )
        self.changes = Counter(
            "client_health_changes",
            "health_status changes, by new status and client tier (new At Risk / Churn Risk).",
            ["to", "tier"],
            registry=registry,
        )
        for status, tier in self._keys:
            self.changes.labels(to=status, tier=tier)
        self.set({})

    def set(self, counts: Mapping[tuple[str, str], int]) -> None:
        for status, tier in {*self._keys, *counts}:
            self.gauge.labels(status=status, tier=tier).set(counts.get((status, tier), 0))

    def changed(self, to: str, tier: str) -> None:
        self.changes.labels(to=to, tier=tier).inc()


class FeatureFlagMetrics:
    """1 when a flag is on: dashboards and the harness can see a mitigation in effect."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.enabled = Gauge(
            "feature_flag_enabled",
            "Feature flags as this process currently applies them (1 on, 0 off).",
            ["flag"],
            registry=registry,
        )

    def set(self, flags: Mapping[str, bool]) -> None:
        for flag, on in flags.items():
            self.enabled.labels(flag=flag).set(1 if on else 0)


WEBHOOK_FAILURE_REASONS = (
    "invalid_signature",
    "missing_signature",
    "replayed",
    "malformed",
    "timeout",
    "db_unavailable",
    "queue_unavailable",
)


class RunEventMetrics:
    """Run Event Webhook (spec §2.2 `run_events_ingested_total`, §4.3 failure rates, §3.2 SLI)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.ingested = Counter(
            "run_events_ingested",
            "Run events stored in run_events (duplicates excluded).",
            registry=registry,
        )
        self.duplicates = Counter(
            "run_events_duplicate",
            "Run event deliveries acknowledged as duplicates of a stored event.",
            registry=registry,
        )
        self.failures = Counter(
            "webhook_failures",
            "Run event deliveries refused or not stored, by reason.",
            ["reason"],
            registry=registry,
        )
        self.store_delay = Histogram(
            "webhook_event_store_delay_seconds",
            "From first reception of an event (across sender retries) to its storage.",
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        for reason in WEBHOOK_FAILURE_REASONS:
            self.failures.labels(reason=reason)

    def stored(self, delay_s: float) -> None:
        self.ingested.inc()
        self.store_delay.observe(max(0.0, delay_s))

    def failed(self, reason: str) -> None:
        self.failures.labels(reason=reason).inc()


class UsageMetrics:
    """Usage aggregation worker (spec §2.2 `usage_aggregates_updated_total`, §3.2 SLI)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.updated = Counter(
            "usage_aggregates_updated",
            "usage_aggregates rows written (inserted or recomputed).",
            registry=registry,
        )
        self.lag = Histogram(
            "usage_aggregation_lag_seconds",
            "From reception of a run event to the update of its aggregate, in seconds.",
            buckets=JOB_BUCKETS,
            registry=registry,
        )

    def aggregated(self, lag_s: float) -> None:
        self.updated.inc()
        self.lag.observe(max(0.0, lag_s))


DELIVERY_OUTCOMES = ("acknowledged", "duplicate", "retried", "rejected", "abandoned")


class WebhookDeliveryMetrics:
    """The sender's side of run event webhooks (the fake WRK Platform)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "webhook_delivery_attempts",
            "Delivery attempts of run events, by outcome (retried = will be sent again).",
            ["outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "webhook_delivery_duration_seconds",
            "Duration of one delivery attempt, in seconds.",
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.pending = Gauge(
            "webhook_deliveries_pending",
            "Run events generated and not yet acknowledged, rejected or abandoned.",
            registry=registry,
        )
        for outcome in DELIVERY_OUTCOMES:
            self.attempts.labels(outcome=outcome)

    def attempt(self, outcome: str, duration_s: float) -> None:
        self.attempts.labels(outcome=outcome).inc()
        self.duration.observe(duration_s)
