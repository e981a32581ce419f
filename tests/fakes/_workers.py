"""Workers in-process for tests: fast retries, short leases, frequent refreshes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from fake_services.db import DatabaseSettings
from fake_services.observability import create_telemetry
from fake_services.queue.reliable import RetryPolicy
from fake_services.routes import WORKER_ROUTES
from fake_services.workers.app import HandlerFactory, create_app
from fake_services.workers.settings import WorkerSettings


def worker_settings(database_url: str, redis_url: str, *, max_attempts: int = 3) -> WorkerSettings:
    return WorkerSettings(
        database=DatabaseSettings(database_url, 2.0, 3.0),
        redis_url=redis_url,
        retry=RetryPolicy(max_attempts=max_attempts, base_delay_s=0.05, max_delay_s=0.2),
        concurrency=2,
        lease_s=2.0,
        defer_s=0.2,
        refresh_interval_s=0.1,
        platform_url="http://platform.invalid",
    )


@contextmanager
def running_worker(
    factory: HandlerFactory,
    database_url: str,
    redis_url: str,
    *,
    max_attempts: int = 3,
    span_file: Path | None = None,
) -> Iterator[TestClient]:
    settings = worker_settings(database_url, redis_url, max_attempts=max_attempts)
    telemetry = create_telemetry("worker", WORKER_ROUTES, span_file)
    with TestClient(create_app(settings, telemetry, factory)) as client:
        yield client
