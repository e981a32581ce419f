"""Prometheus metrics of the spec (§2.2), each family on a per-service registry.

Every histogram uses LATENCY_BUCKETS: each SLO and alert threshold of the spec (0.4, 0.6, 0.8,
1, 2 s ...) is a bucket edge, so `histogram_quantile` is exact at the thresholds that matter.
A per-service registry (not the process-global one) lets tests build several apps in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from fake_services import defects

LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.4,
    0.5,
    0.6,
    0.75,
    0.8,
    1.0,
    2.0,
    2.5,
    5.0,
    10.0,
)

# Asynchronous work is measured in seconds to minutes: the spec's async SLOs (notifications in
# 60 s, webhook events stored in 30 s, builds and usage aggregates in 5 min) are bucket edges,
# and so are the same thresholds at time scale 60 (0.5, 1, 5 s). The metric contract declares
# these edges for worker_job_duration_seconds (scenarios/catalog/metrics.yaml).
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
# A ceiling on cached label children, should a client invent methods without end.
MAX_BOUND_CHILDREN = 4096

_HttpChildren = tuple[Counter, Histogram, Counter | None]


def new_registry() -> CollectorRegistry:
    # `*_created` series double the scrape size and no rule of the spec uses them.
    disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated in prometheus_client
    return CollectorRegistry(auto_describe=True)


class HttpMetrics:
    """API layer metrics; `route` is a route template or `unmatched`: bounded cardinality."""

    def __init__(self, registry: CollectorRegistry, known_routes: Iterable[str] = ()) -> None:
        self.requests = Counter(
            "http_request_count",
            "HTTP requests handled, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        coarse = defects.active(defects.Defect.COARSE_BUCKETS)  # the library's defaults then
        self._no_route = defects.active(defects.Defect.DROP_ROUTE_LABEL)
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration in seconds, by route template and method.",
            ["method"] if self._no_route else ["route", "method"],
            buckets=Histogram.DEFAULT_BUCKETS if coarse else LATENCY_BUCKETS,
            registry=registry,
        )
        self.client_errors = Counter(
            "http_4xx_count", "HTTP 4xx responses by route template.", ["route"], registry=registry
        )
        renamed = defects.active(defects.Defect.RENAME_METRIC)  # http_5xx_errors_total then
        self.server_errors = Counter(
            "http_5xx_errors" if renamed else "http_5xx_count",
            "HTTP 5xx responses by route template.",
            ["route"],
            registry=registry,
        )
        # Series that exist at 0 from the start make the first error visible to rate().
        for route in known_routes:
            self.client_errors.labels(route=route)
            self.server_errors.labels(route=route)

        # Label children per (route, method, status), looked up once: `labels()` costs more than
        # the increments. Bounded: routes are templates, methods and statuses few.
        self._children: dict[tuple[str, str, int], _HttpChildren] = {}

    def observe(self, route: str, method: str, status: int, duration_s: float) -> None:
        children = self._children.get((route, method, status))
        if children is None:
            children = self._bind(route, method, status)
        requests, duration, errors = children
        requests.inc()
        duration.observe(duration_s)
        if errors is not None:
            errors.inc()

    def _bind(self, route: str, method: str, status: int) -> _HttpChildren:
        errors = None
        if 400 <= status < 500:
            errors = self.client_errors.labels(route=route)
        elif status >= 500:
            errors = self.server_errors.labels(route=route)
        children = (
            self.requests.labels(route=route, method=method, status=str(status)),
            self.duration.labels(method=method)
            if self._no_route
            else self.duration.labels(route=route, method=method),
            errors,
        )
        if len(self._children) < MAX_BOUND_CHILDREN:
            self._children[(route, method, status)] = children
        return children


class PlatformCallMetrics:
    """WRK Platform integration (spec §4.3): success/failure rates and latency per call."""

    def __init__(self, registry: CollectorRegistry, known_calls: Iterable[str] = ()) -> None:
        self.calls = Counter(
            "wrk_platform_calls",
            "Calls to the WRK Platform API, by call and outcome (success/failure).",
            ["call", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "wrk_platform_call_duration_seconds",
            "Duration of WRK Platform API calls in seconds, by call.",
            ["call"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # Every call's series from startup, latency included: a dashboard or rule over a
        # histogram that appears only with the first call cannot tell "no calls" from "broken".
        for call in known_calls:
            self.duration.labels(call=call)
            for outcome in ("success", "failure"):
                self.calls.labels(call=call, outcome=outcome)

    def observe(self, call: str, *, success: bool, duration_s: float) -> None:
        self.calls.labels(call=call, outcome="success" if success else "failure").inc()
        self.duration.labels(call=call).observe(duration_s)


class PlatformUpMetric:
    """`wrk_platform_up`: 1 while core's periodic probe reaches the WRK Platform, else 0 (the
    "expected to be online" of spec §5.2). Registered with the first probe's verdict: before
    it the platform's state is unknown, and an early 0 would claim an outage nobody saw."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry: CollectorRegistry | None = registry
        self._gauge = Gauge(
            "wrk_platform_up",
            "1 when core's periodic probe reached the WRK Platform, 0 when it did not.",
            registry=None,
        )

    def set(self, up: bool) -> None:
        self._gauge.set(1 if up else 0)
        if self._registry is not None:
            self._registry.register(self._gauge)
            self._registry = None


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


class DbMetrics:
    """Database layer (spec §2.2): query latency per operation/table, pool usage, lock waits.

    `db_lock_wait_time_seconds` is the measured duration of the `SELECT ... FOR UPDATE` that
    takes a row lock before each status transition. A single-row lookup by primary key costs
    well under a millisecond, so the figure is dominated by the time spent queueing behind
    another transaction's lock: an honest upper bound on lock wait, measured where it happens.
    It has no labels (spec §2.2 and the metric contract), so every service with a database
    exposes it from startup, at count 0 until it takes a lock (core is the one that does).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.query_duration = Histogram(
            "db_query_duration_seconds",
            "Database query duration in seconds, by operation and table.",
            ["operation", "table"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.pool_in_use = Gauge(
            "db_connection_pool_in_use",
            "Database connections currently checked out of the pool.",
            registry=registry,
        )
        self.lock_wait = Histogram(
            "db_lock_wait_time_seconds",
            "Time spent acquiring row locks (SELECT ... FOR UPDATE) before a status change.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.pool_size = Gauge(
            "db_connection_pool_size",
            "Maximum size of the database connection pool.",
            registry=registry,
        )
        self._query_children: dict[tuple[str, str], Histogram] = {}

    def observe_query(self, operation: str, table: str, duration_s: float) -> None:
        child = self._query_children.get((operation, table))
        if child is None:  # operations and tables are code constants: a small, fixed set
            child = self.query_duration.labels(operation=operation, table=table)
            self._query_children[(operation, table)] = child
        child.observe(duration_s)

    def observe_lock_wait(self, duration_s: float) -> None:
        self.lock_wait.observe(duration_s)

    def track_pool(self, in_use: Callable[[], float], size: float) -> None:
        # Sampled at scrape time, so the gauge is exact without bookkeeping on every acquire.
        self.pool_in_use.set_function(in_use)
        self.pool_size.set(size)
