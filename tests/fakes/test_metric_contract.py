"""The metric contract (scenarios/catalog/metrics.yaml) held against what the fakes expose.

Each service runs in-process against the test Postgres and Redis, handles one request (a
labelled series exists only once something is counted under it) and is scraped on /metrics.
Every catalogue metric it should expose must be there under its series name, with exactly the
declared labels, the declared bucket edges, and closed label values within the declared set.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from fake_services.db import DatabaseSettings
from fake_services.edge.app import create_app as create_edge_app
from fake_services.edge.settings import EdgeSettings
from fake_services.observability import create_telemetry
from fake_services.platform.app import create_app as create_platform_app
from fake_services.routes import CORE_ROUTES, EDGE_ROUTES, PLATFORM_ROUTES, WEBHOOK_ROUTES
from fake_services.webhook.app import create_app as create_webhook_app
from fake_services.webhook.settings import WebhookSettings
from fake_services.workers.usage import UsageAggregationWorker
from harness.spec.catalog import load_catalog
from harness.spec.metrics import Metric

from . import _postgres, _redis
from ._core import STUDIO, core_client
from ._webhook import PATH, SECRET, event, signed
from ._workers import running_worker

EDGE, CORE, WEBHOOK, WORKER = "edge", "core", "webhook", "worker-usage-aggregation"

# Metrics the catalogue does not pin to jobs: the fakes that expose them (one worker stands
# for the four, which share their metrics code and differ only in the queue label).
WITH_A_DATABASE = (CORE, WEBHOOK, WORKER)
UNPINNED: dict[str, tuple[str, ...]] = {
    "worker_job_count": (WORKER,),
    "worker_job_duration_seconds": (WORKER,),
    "worker_dead_letter_count": (WORKER,),
    "queue_depth": (CORE,),
    "dead_letter_queue_depth": (CORE,),
    "db_query_duration_seconds": WITH_A_DATABASE,
    "db_connection_pool_in_use": WITH_A_DATABASE,
    "db_connection_pool_size": WITH_A_DATABASE,
    "db_lock_wait_time_seconds": WITH_A_DATABASE,
    "automation_versions_by_status": (CORE,),
    "projects_by_status": (CORE,),
    "quotes_by_status": (CORE,),
    "client_health_status": (CORE,),
    "usage_aggregates_updated_total": (WORKER,),
}

CATALOG = load_catalog().metrics
# Periodic samplers (queue depths, the platform probe) fill some series after startup.
SETTLE_S = 5.0


def exposed_by(name: str, metric: Metric) -> tuple[str, ...]:
    return metric.jobs or UNPINNED.get(name, ())


def expected_series(service: str) -> set[str]:
    return {
        series
        for name, metric in CATALOG.items()
        if service in exposed_by(name, metric)
        for series in metric.exposed_series
    }


@dataclass(frozen=True)
class Exposition:
    """The label sets of every sample of a scrape, by series name."""

    samples: dict[str, list[dict[str, str]]]

    @classmethod
    def parse(cls, text: str) -> Exposition:
        samples: dict[str, list[dict[str, str]]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append(sample.labels)
        return cls(samples)

    def labelsets(self, series: str) -> list[dict[str, str]]:
        return self.samples.get(series, [])

    def bucket_edges(self, series: str) -> set[tuple[float, ...]]:
        """The sorted `le` values of each child of a histogram's `_bucket` series."""
        children: dict[tuple[tuple[str, str], ...], list[float]] = {}
        for labels in self.labelsets(series):
            child = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            children.setdefault(child, []).append(float(labels["le"]))
        return {tuple(sorted(edges)) for edges in children.values()}


def scrape(client: TestClient, service: str) -> Exposition:
    """The exposition once it has every series the service should expose, or after SETTLE_S
    (the tests then name what is missing)."""
    wanted = expected_series(service)
    deadline = time.monotonic() + SETTLE_S
    while True:
        exposition = Exposition.parse(client.get("/metrics").text)
        if wanted <= exposition.samples.keys() or time.monotonic() > deadline:
            return exposition
        time.sleep(0.1)


def scrape_edge(_: str, __: str) -> Exposition:
    settings = EdgeSettings("http://core.invalid", 5.0, {})
    with TestClient(create_edge_app(settings, create_telemetry(EDGE, EDGE_ROUTES))) as client:
        # Refused at the edge: counted as a request, a 4xx and an authentication failure.
        assert client.get("/v1/automations").status_code == 401
        return scrape(client, EDGE)


def scrape_core(database_url: str, redis_url: str) -> Exposition:
    platform = create_platform_app(create_telemetry("platform", PLATFORM_ROUTES))
    telemetry = create_telemetry(CORE, CORE_ROUTES)
    transport = httpx.ASGITransport(platform)
    with core_client(database_url, redis_url, telemetry, transport) as client:
        assert client.get("/v1/automations", headers=STUDIO).status_code == 200
        return scrape(client, CORE)


def scrape_webhook(database_url: str, redis_url: str) -> Exposition:
    settings = WebhookSettings(DatabaseSettings(database_url, 2.0, 3.0), redis_url, SECRET)
    app = create_webhook_app(settings, create_telemetry(WEBHOOK, WEBHOOK_ROUTES))
    with TestClient(app) as client:
        body, headers = signed(event())
        assert client.post(PATH, content=body, headers=headers).status_code == 200
        return scrape(client, WEBHOOK)


def scrape_worker(database_url: str, redis_url: str) -> Exposition:
    # Startup reads the feature flags: a query, so the query histogram has a child.
    with running_worker(UsageAggregationWorker, database_url, redis_url) as client:
        return scrape(client, WORKER)


SCRAPERS: dict[str, Callable[[str, str], Exposition]] = {
    EDGE: scrape_edge,
    CORE: scrape_core,
    WEBHOOK: scrape_webhook,
    WORKER: scrape_worker,
}


class Scrapes:
    """Each service run and scraped once for the module, on an emptied database and Redis."""

    def __init__(self, database_url: str, redis: _redis.Redis) -> None:
        self._database_url = database_url
        self._redis = redis
        self._done: dict[str, Exposition] = {}

    def of(self, service: str) -> Exposition:
        if service not in self._done:
            _postgres.truncate_all(self._database_url)
            self._redis.flush()
            self._done[service] = SCRAPERS[service](self._database_url, self._redis.url())
        return self._done[service]


@pytest.fixture(scope="module")
def scrapes(shared_database_url: str, redis_server: _redis.Redis) -> Scrapes:
    return Scrapes(shared_database_url, redis_server)


def contract_cases() -> list[Any]:
    cases = []
    for service in SCRAPERS:
        for name, metric in CATALOG.items():
            if service not in exposed_by(name, metric):
                continue
            cases.append(pytest.param(service, name, id=f"{service}-{name}"))
    return cases


def test_every_catalogue_metric_is_held_against_a_fake() -> None:
    assert set(UNPINNED) <= set(CATALOG), "UNPINNED names a metric the catalogue lacks"
    for name, metric in CATALOG.items():
        services = exposed_by(name, metric)
        assert services, f"{name}: no fake is known to expose it"
        assert set(services) <= set(SCRAPERS), f"{name}: exposed by a fake not scraped here"


@pytest.mark.parametrize(("service", "name"), contract_cases())
def test_the_fake_exposes_the_metric_as_declared(scrapes: Scrapes, service: str, name: str) -> None:
    metric = CATALOG[name]
    exposition = scrapes.of(service)
    for series in metric.exposed_series:
        labelsets = exposition.labelsets(series)
        assert labelsets, f"{service} does not expose {series}"
        carried = {frozenset(labels) for labels in labelsets}
        assert carried == {frozenset(metric.series_labels(series))}, f"labels of {series}"
    if metric.buckets is not None:
        declared = (*map(float, metric.buckets), math.inf)
        assert exposition.bucket_edges(metric.series) == {declared}, f"buckets of {name}"
    for label, allowed in metric.values.items():
        seen = {labels[label] for labels in exposition.labelsets(metric.series)}
        assert seen <= set(allowed), f"{name}{{{label}}} outside the declared values"
