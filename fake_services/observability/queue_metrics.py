"""Worker and queue metrics (spec §2.2 Workers, §4.2 Worker & Queue dashboard).

Dead letters are exposed twice, deliberately: `worker_dead_letter_count_total{queue}` is the
spec's `worker_dead_letter_count`, a counter of jobs this worker moved to `<queue>:dead` (rate
and increase() work on it, and it survives a DLQ being drained); `dead_letter_queue_depth{queue}`
is the size of the dead-letter list sampled from Redis, which is what the dashboard shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fake_services import defects
from fake_services.observability.metrics import JOB_BUCKETS

JOB_STATUSES = ("succeeded", "failed", "dead_lettered", "deferred")


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry, queues: Iterable[str]) -> None:
        self.jobs = Counter(
            "worker_job_count",
            "Jobs handled, by queue and status (succeeded, failed = will retry, dead_lettered, "
            "deferred = put back because a feature flag switched the work off).",
            ["queue", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "worker_job_duration_seconds",
            "Time a worker spent on one job attempt, in seconds.",
            ["queue"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.end_to_end = Histogram(
            "worker_job_end_to_end_seconds",
            "From enqueue to successful completion, in seconds: the async SLIs of spec §3.3.",
            ["queue"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.dead_letters = Counter(
            "worker_dead_letter_count",
            "Jobs moved to the dead-letter list after exhausting their attempts.",
            ["queue"],
            registry=registry,
        )
        self._failures_uncounted = defects.active(defects.Defect.JOB_FAILURES_UNCOUNTED)
        for queue in queues:
            self.duration.labels(queue=queue)
            self.end_to_end.labels(queue=queue)
            self.dead_letters.labels(queue=queue)
            for status in JOB_STATUSES:
                self.jobs.labels(queue=queue, status=status)

    def finished(self, queue: str, status: str, duration_s: float) -> None:
        if self._failures_uncounted and status in ("failed", "dead_lettered"):
            status = "succeeded"
        self.jobs.labels(queue=queue, status=status).inc()
        self.duration.labels(queue=queue).observe(duration_s)
        if status == "dead_lettered":
            self.dead_letters.labels(queue=queue).inc()

    def completed(self, queue: str, since_enqueue_s: float) -> None:
        self.end_to_end.labels(queue=queue).observe(max(0.0, since_enqueue_s))


class QueueDepthMetrics:
    """Sampled from Redis by a background task (the scrape itself never waits on Redis); see
    fake_services.queue.depth for what is counted and when values are withdrawn."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.depth = Gauge(
            "queue_depth",
            "Jobs waiting in a queue: ready plus scheduled for a delayed retry.",
            ["queue"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "queue_in_flight",
            "Jobs taken by a worker and not yet acknowledged (processing lists).",
            ["queue"],
            registry=registry,
        )
        self.dead = Gauge(
            "dead_letter_queue_depth",
            "Jobs in the dead-letter list `<queue>:dead`.",
            ["queue"],
            registry=registry,
        )

    def set(self, queue: str, *, waiting: int, in_flight: int, dead: int) -> None:
        self.depth.labels(queue=queue).set(waiting)
        self.in_flight.labels(queue=queue).set(in_flight)
        self.dead.labels(queue=queue).set(dead)

    def clear(self) -> None:
        """Withdraw every sample: the series go absent rather than report a stale depth."""
        for gauge in (self.depth, self.in_flight, self.dead):
            gauge.clear()
