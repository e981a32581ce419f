"""Jobs taken before their producer's transaction commits wait for it (workers.visibility).

Producers enqueue just before committing, so a fast worker can hold a job whose row is not
visible yet (a new version, a new run event) or still shows its previous status. Each test
holds such a transaction open on its own thread while the worker already has the job.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from fake_services.observability import context, create_telemetry
from fake_services.observability.context import RequestContext
from fake_services.queue import Producer, connect_redis
from fake_services.queue.payloads import AggregateUsage, BuildVersion, JobKind
from fake_services.routes import WORKER_ROUTES
from fake_services.workers import visibility
from fake_services.workers.build import BuildWorker
from fake_services.workers.usage import UsageAggregationWorker

from ._core import STUDIO, fetch
from ._stack import wait_until
from ._workers import running_worker
from .conftest import CapturedLogs


class OpenTransaction:
    """Statements run in a transaction kept open (on its own thread) until commit/rollback."""

    def __init__(self, database_url: str, *statements: tuple[Any, ...]) -> None:
        self._url = database_url
        self._statements = statements
        self._ready = threading.Event()
        self._decided = threading.Event()
        self._commit = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        conn = await asyncpg.connect(self._url)
        try:
            transaction = conn.transaction()
            await transaction.start()
            for sql, *args in self._statements:
                await conn.execute(sql, *args)
            self._ready.set()
            await asyncio.to_thread(self._decided.wait, 30)
            await (transaction.commit() if self._commit else transaction.rollback())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            await conn.close()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "the transaction did not start"
        if self._error is not None:
            raise self._error

    def finish(self, commit: bool) -> None:
        self._commit = commit
        self._decided.set()
        self._thread.join(10)
        if self._error is not None:
            raise self._error


@contextmanager
def open_transaction(database_url: str, *statements: tuple[Any, ...]) -> Iterator[OpenTransaction]:
    tx = OpenTransaction(database_url, *statements)
    tx.start()
    try:
        yield tx
    finally:
        tx.finish(commit=False)  # a no-op once the test has decided


def enqueue(redis_url: str, kind: JobKind, payload: BaseModel, job_id: str | None = None) -> str:
    async def go() -> str:
        client = connect_redis(redis_url)
        try:
            tracer = create_telemetry("test", WORKER_ROUTES).tracing.tracer
            with context.bound(RequestContext(request_id="req-visible-0001", tenant_id="t1")):
                job = await Producer(client, tracer).submit(kind, payload, job_id)
            return job.id
        finally:
            await client.aclose()

    return asyncio.run(go())


def held_by_worker(database_url: str, queue: str, job_id: str) -> bool:
    rows = fetch(
        database_url, "SELECT status FROM job_runs WHERE queue = $1 AND job_id = $2", queue, job_id
    )
    return rows == [{"status": "running"}]


def job_run(database_url: str, queue: str, job_id: str) -> dict[str, Any]:
    sql = "SELECT * FROM job_runs WHERE queue = $1 AND job_id = $2"
    (row,) = fetch(database_url, sql, queue, job_id)
    return row


def version_status(database_url: str, version_id: str) -> str:
    (row,) = fetch(database_url, "SELECT status FROM automation_versions WHERE id = $1", version_id)
    status: str = row["status"]
    return status


def dead_letters(redis_url: str, queue: str) -> int:
    with redis.Redis.from_url(redis_url) as client:
        return int(client.llen(f"{queue}:dead"))


def new_automation(core: TestClient) -> str:
    response = core.post("/v1/automations", json={"name": "Visibility"}, headers=STUDIO)
    assert response.status_code == 201, response.text
    automation_id: str = response.json()["id"]
    return automation_id


def insert_version(version_id: uuid.UUID, automation_id: str) -> tuple[Any, ...]:
    return (
        "INSERT INTO automation_versions (id, automation_id, tenant_id, version, status)"
        " VALUES ($1, $2, 't1', 1, 'building')",
        version_id,
        uuid.UUID(automation_id),
    )


def build_worker(platform_app: FastAPI) -> Any:
    return lambda registry: BuildWorker(registry, httpx.ASGITransport(platform_app))


def test_a_build_taken_before_its_version_commits_waits_for_it(
    core: TestClient, platform_app: FastAPI, database_url: str, redis_url: str
) -> None:
    version_id = uuid.uuid4()
    statement = insert_version(version_id, new_automation(core))
    with open_transaction(database_url, statement) as tx:
        job_id = enqueue(redis_url, JobKind.BUILD_VERSION, BuildVersion(version_id=version_id))
        with running_worker(build_worker(platform_app), database_url, redis_url):
            wait_until(lambda: held_by_worker(database_url, "build-requests", job_id), 5)
            time.sleep(0.2)  # the worker holds the job; the version is still uncommitted
            tx.finish(commit=True)
            wait_until(lambda: version_status(database_url, str(version_id)) == "active", 5)
            wait_until(lambda: job_run(database_url, "build-requests", job_id)["finished_at"], 5)
    run = job_run(database_url, "build-requests", job_id)
    assert (run["status"], run["attempts"]) == ("succeeded", 1)
    assert dead_letters(redis_url, "build-requests") == 0


def test_a_build_taken_before_a_rebuild_commits_sees_the_new_status(
    core: TestClient,
    platform_app: FastAPI,
    database_url: str,
    redis_url: str,
    logs: CapturedLogs,
) -> None:
    body = {"automation_id": new_automation(core), "build": False}
    draft = core.post("/v1/automation-versions", json=body, headers=STUDIO).json()
    version_id = uuid.UUID(draft["id"])
    lock = ("SELECT id FROM automation_versions WHERE id = $1 FOR UPDATE", version_id)
    rebuild = ("UPDATE automation_versions SET status = 'building' WHERE id = $1", version_id)
    with open_transaction(database_url, lock, rebuild) as tx:
        job_id = enqueue(redis_url, JobKind.BUILD_VERSION, BuildVersion(version_id=version_id))
        with running_worker(build_worker(platform_app), database_url, redis_url):
            wait_until(lambda: held_by_worker(database_url, "build-requests", job_id), 5)
            time.sleep(0.2)
            tx.finish(commit=True)
            wait_until(lambda: version_status(database_url, str(version_id)) == "active", 5)
    assert not [e for e in logs.lines() if e["message"] == "nothing to build"]


def test_a_version_that_never_commits_is_dead_lettered(
    core: TestClient,
    platform_app: FastAPI,
    database_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(visibility, "DEADLINE_S", 0.5)
    version_id = uuid.uuid4()
    statement = insert_version(version_id, new_automation(core))
    with open_transaction(database_url, statement) as tx:
        job_id = enqueue(redis_url, JobKind.BUILD_VERSION, BuildVersion(version_id=version_id))
        tx.finish(commit=False)
        with running_worker(build_worker(platform_app), database_url, redis_url):
            wait_until(lambda: dead_letters(redis_url, "build-requests") == 1, 10)
    assert job_run(database_url, "build-requests", job_id)["status"] == "dead_lettered"


def test_usage_taken_before_its_event_commits_counts_it(database_url: str, redis_url: str) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    occurred = datetime(2024, 5, 1, 12, tzinfo=UTC)
    insert = (
        "INSERT INTO run_events (event_id, tenant_id, automation_id, status, occurred_at,"
        " received_at) VALUES ($1, 't1', 'automation-1', 'succeeded', $2, now())",
        event_id,
        occurred,
    )
    usage = AggregateUsage(
        tenant_id="t1",
        automation_id="automation-1",
        period=occurred.date(),
        received_at=time.time(),
        event_id=event_id,
    )
    with open_transaction(database_url, insert) as tx:
        job_id = enqueue(redis_url, JobKind.AGGREGATE_USAGE, usage, job_id=event_id)
        assert job_id == event_id
        with running_worker(UsageAggregationWorker, database_url, redis_url):
            wait_until(lambda: held_by_worker(database_url, "usage-aggregation", job_id), 5)
            time.sleep(0.2)
            tx.finish(commit=True)
            wait_until(
                lambda: job_run(database_url, "usage-aggregation", job_id)["status"] == "succeeded",
                5,
            )
    (row,) = fetch(database_url, "SELECT run_count FROM usage_aggregates")
    assert row["run_count"] == 1  # the event it was enqueued for is counted
