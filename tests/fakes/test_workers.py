"""The four workers in-process against real Postgres and Redis, with the platform in-process."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from fake_services.observability import context, create_telemetry
from fake_services.observability.context import RequestContext
from fake_services.platform.faults import FaultConfig, FaultMode
from fake_services.queue import Job, Producer, connect_redis
from fake_services.queue.names import delayed_key
from fake_services.queue.payloads import (
    QUEUE_OF,
    AggregateUsage,
    JobKind,
    NotificationKind,
    Notify,
)
from fake_services.queue.reliable import ReliableQueue
from fake_services.routes import WORKER_ROUTES
from fake_services.workers.ai_ingestion import AiIngestionWorker
from fake_services.workers.build import BuildWorker
from fake_services.workers.notifications import NotificationsWorker
from fake_services.workers.usage import UsageAggregationWorker

from . import _postgres, _toxiproxy
from ._core import STUDIO, fetch, queued, sample
from ._stack import wait_until
from ._workers import running_worker, worker_settings
from .conftest import CANARY, CapturedLogs

ADMIN = {"X-Tenant-ID": "t1", "X-User-ID": "admin-1"}


def build_factory(platform_app: FastAPI) -> Any:
    return lambda registry: BuildWorker(registry, httpx.ASGITransport(platform_app))


def new_version(core: TestClient, notes: str = "", **headers: str) -> dict[str, Any]:
    automation = core.post("/v1/automations", json={"name": "Invoices"}, headers=STUDIO).json()
    response = core.post(
        "/v1/automation-versions",
        json={"automation_id": automation["id"], "notes": notes},
        headers={**STUDIO, **headers},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def version_row(database_url: str, version_id: str) -> dict[str, Any]:
    (row,) = fetch(database_url, "SELECT * FROM automation_versions WHERE id = $1", version_id)
    return row


def job_runs(database_url: str, queue: str) -> list[dict[str, Any]]:
    return fetch(database_url, "SELECT * FROM job_runs WHERE queue = $1", queue)


def submit(redis_url: str, kind: JobKind, payload: Any, request_id: str = "req-submit-0001") -> str:
    async def go() -> str:
        client = connect_redis(redis_url)
        try:
            tracer = create_telemetry("test", WORKER_ROUTES).tracing.tracer
            with context.bound(RequestContext(request_id=request_id, tenant_id="t1")):
                producer = Producer(client, tracer)
                if isinstance(payload, dict):  # deliberately not a valid payload model
                    job = await producer.enqueue(QUEUE_OF[kind], kind, payload)
                else:
                    job = await producer.submit(kind, payload)
            return job.id
        finally:
            await client.aclose()

    return asyncio.run(go())


def jobs(worker: TestClient, queue: str, status: str) -> float | None:
    """The worker's finished jobs of `queue` with `status` (worker_job_count_total)."""
    return sample(worker, "worker_job_count_total", {"queue": queue, "status": status})


def dead_letters(redis_url: str, queue: str) -> list[dict[str, Any]]:
    with redis.Redis.from_url(redis_url) as client:
        return [json.loads(raw) for raw in client.lrange(f"{queue}:dead", 0, -1)]


def test_build_turns_a_version_into_a_workflow(
    *,
    core: TestClient,
    platform_app: FastAPI,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    logs: CapturedLogs,
) -> None:
    version = new_version(core, **{"X-Request-ID": "req-build-00000001"})
    spans = tmp_path / "spans.jsonl"
    with running_worker(
        build_factory(platform_app), database_url, redis_url, span_file=spans
    ) as worker:
        row = wait_until(
            lambda: (r := version_row(database_url, version["id"]))["status"] == "active" and r,
            timeout_s=10,
            what="the version to become active",
        )
        assert row["workflow_id"] in platform_app.state.workflows.workflows
        wait_until(
            lambda: jobs(worker, "build-requests", "succeeded") == 1,
            5,
        )
        assert (
            sample(worker, "worker_job_end_to_end_seconds_count", {"queue": "build-requests"}) == 1
        )
        assert (
            sample(
                worker,
                "wrk_platform_calls_total",
                {"call": "create_workflow", "outcome": "success"},
            )
            == 1
        )
    (run,) = job_runs(database_url, "build-requests")
    assert (run["status"], run["attempts"], run["request_id"]) == (
        "succeeded",
        1,
        "req-build-00000001",
    )
    assert run["enqueued_at"] <= run["started_at"] <= run["finished_at"]
    (notice,) = queued(redis_url, "notifications")
    assert notice.payload["kind"] == "build_succeeded"
    assert notice.request_id == "req-build-00000001"  # correlation continues to the next queue
    (notice_run,) = job_runs(database_url, "notifications")
    assert (notice_run["job_id"], notice_run["status"], notice_run["started_at"]) == (
        notice.id,
        "queued",
        None,
    )
    worker_lines = [e for e in logs.lines() if e.get("job_type") == "build_version"]
    assert {e["request_id"] for e in worker_lines} == {"req-build-00000001"}
    job_span = next(
        json.loads(line)
        for line in spans.read_text().splitlines()
        if '"job build-requests"' in line
    )
    assert job_span["kind"] == "CONSUMER"
    assert job_span["attributes"]["request_id"] == "req-build-00000001"
    assert len({e["trace_id"] for e in worker_lines}) == 1
    assert worker_lines[0]["trace_id"] == job_span["trace_id"]


def test_a_redelivered_build_creates_no_second_workflow(
    core: TestClient, platform_app: FastAPI, database_url: str, redis_url: str
) -> None:
    version = new_version(core)
    job = queued(redis_url, "build-requests")[0]
    with redis.Redis.from_url(redis_url) as client:
        client.lpush("build-requests", job.encode())  # the same job delivered twice
    with running_worker(build_factory(platform_app), database_url, redis_url) as worker:
        wait_until(
            lambda: jobs(worker, "build-requests", "succeeded") == 2,
            timeout_s=10,
        )
    assert len(platform_app.state.workflows.workflows) == 2  # the automation's + the version's
    assert version_row(database_url, version["id"])["status"] == "active"
    (run,) = job_runs(database_url, "build-requests")
    assert run["attempts"] == 2


def retry_due_times(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> list[tuple[int, float]]:
    """Filled with (attempts, seconds until due) of each retry the worker schedules, as read
    back from the delayed set: the backoff applied, not the one logged."""
    scheduled: list[tuple[int, float]] = []
    schedule = ReliableQueue.schedule

    async def spy(queue: ReliableQueue, raw: bytes, job: Job, delay_s: float) -> None:
        called_at = time.time()
        await schedule(queue, raw, job, delay_s)
        # Blocking on purpose: nothing on the worker's loop can promote the job meanwhile.
        with redis.Redis.from_url(redis_url) as client:
            due = client.zscore(delayed_key(queue.queue), job.encode())
        assert due is not None, "the retry is not in the delayed set"
        scheduled.append((job.attempts, due - called_at))

    monkeypatch.setattr(ReliableQueue, "schedule", spy)
    return scheduled


def test_a_failing_platform_dead_letters_the_build(
    *,
    core: TestClient,
    platform_app: FastAPI,
    database_url: str,
    redis_url: str,
    logs: CapturedLogs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = new_version(core)
    scheduled = retry_due_times(monkeypatch, redis_url)
    platform_app.state.faults.config = FaultConfig(mode=FaultMode.ERROR_5XX)
    with running_worker(
        build_factory(platform_app), database_url, redis_url, max_attempts=3
    ) as worker:
        wait_until(
            lambda: dead_letters(redis_url, "build-requests"), timeout_s=10, what="a dead letter"
        )
        wait_until(lambda: version_row(database_url, version["id"])["status"] == "build_failed", 5)
        # The counters move last, after the dead-letter follow-up's notification.
        wait_until(
            lambda: (
                sample(worker, "worker_dead_letter_count_total", {"queue": "build-requests"}) == 1
            ),
            5,
            what="the dead letter to be counted",
        )
        assert jobs(worker, "build-requests", "failed") == 2
    (dead,) = dead_letters(redis_url, "build-requests")
    assert (dead["attempts"], dead["last_error_code"]) == (3, "wrk_platform_error")
    (run,) = job_runs(database_url, "build-requests")
    assert (run["status"], run["last_error_code"]) == ("dead_lettered", "wrk_platform_error")
    assert run["finished_at"] is not None
    dead_lines = [e for e in logs.lines() if e.get("error_code") == "queue_dead_lettered"]
    assert dead_lines[0]["level"] == "ERROR"
    assert dead_lines[0]["cause"] == "wrk_platform_error"
    retries = [e for e in logs.lines() if e["message"] == "job failed; will retry"]
    assert [e["attempts"] for e in retries] == [1, 2]
    # Each retry waits at least half its ceiling, which doubles per attempt (RetryPolicy): the
    # second waits at least as long as the first could, and a retry at once fails here.
    policy = worker_settings(database_url, redis_url).retry
    assert [attempts for attempts, _ in scheduled] == [1, 2]
    for attempts, due_in_s in scheduled:
        ceiling = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempts - 1))
        assert due_in_s >= ceiling / 2, (attempts, due_in_s)
    assert [n.payload["kind"] for n in queued(redis_url, "notifications")] == ["build_failed"]


def test_builds_wait_while_platform_calls_are_switched_off(
    core: TestClient, platform_app: FastAPI, database_url: str, redis_url: str
) -> None:
    version = new_version(core)
    core.put("/v1/admin/feature-flags/wrk_platform_calls", json={"enabled": False}, headers=ADMIN)
    with running_worker(build_factory(platform_app), database_url, redis_url) as worker:
        wait_until(lambda: (jobs(worker, "build-requests", "deferred") or 0) >= 2, 10)
        assert version_row(database_url, version["id"])["status"] == "building"
        assert sample(worker, "worker_dead_letter_count_total", {"queue": "build-requests"}) == 0
        core.put(
            "/v1/admin/feature-flags/wrk_platform_calls", json={"enabled": True}, headers=ADMIN
        )
        wait_until(lambda: version_row(database_url, version["id"])["status"] == "active", 10)
    assert len(platform_app.state.workflows.workflows) == 2


def test_a_version_archived_during_its_build_is_deactivated(
    core: TestClient, platform_app: FastAPI, database_url: str, redis_url: str, logs: CapturedLogs
) -> None:
    version = new_version(core)
    faults = platform_app.state.faults
    workflows = platform_app.state.workflows
    faults.config = FaultConfig(mode=FaultMode.SLOW_BODY, delay_ms=1500)  # a slow create
    with running_worker(
        build_factory(platform_app), database_url, redis_url, max_attempts=10
    ) as worker:
        # The build's workflow exists (keyed by the version id) while its answer still stalls.
        wait_until(lambda: version["id"] in workflows.by_key, 10, what="the build's workflow")
        workflow = workflows.workflows[workflows.by_key[version["id"]]]
        # The user archives while the platform is still answering the create.
        archived = core.patch(
            f"/v1/automation-versions/{version['id']}", json={"status": "archived"}, headers=STUDIO
        )
        assert archived.json()["status"] == "archived"
        faults.config = FaultConfig(mode=FaultMode.THROTTLE_429)  # and deactivation is throttled
        wait_until(
            lambda: any(
                e.get("error_code") == "archive_remote_deactivation_failed" for e in logs.lines()
            ),
            timeout_s=10,
            what="a failed deactivation",
        )
        assert workflow.status == "active"  # a throttled request is not processed
        faults.config = FaultConfig()
        wait_until(lambda: jobs(worker, "build-requests", "succeeded") == 1, 10)
    row = version_row(database_url, version["id"])
    assert row["status"] == "archived"
    assert row["workflow_id"] == workflow.workflow_id
    assert workflow.status == "inactive"  # so only the worker's retry deactivated it


def test_ai_ingestion_indexes_a_digest_never_the_text(
    core: TestClient, database_url: str, redis_url: str, logs: CapturedLogs
) -> None:
    version = new_version(core, notes=f"token={CANARY} and more words")
    with running_worker(AiIngestionWorker, database_url, redis_url) as worker:
        wait_until(lambda: fetch(database_url, "SELECT * FROM ai_documents"), 10, what="ingestion")
        # Counted once the job is concluded, a few round trips after the document is stored.
        wait_until(lambda: jobs(worker, "ai-ingestion", "succeeded") == 1, 10, what="the job")
    (doc,) = fetch(database_url, "SELECT * FROM ai_documents")
    assert str(doc["version_id"]) == version["id"]
    assert len(doc["content_sha256"]) == 64
    assert CANARY not in logs.text()


def test_ai_ingestion_waits_while_switched_off(
    core: TestClient, database_url: str, redis_url: str
) -> None:
    new_version(core)
    core.put("/v1/admin/feature-flags/ai_ingestion", json={"enabled": False}, headers=ADMIN)
    with running_worker(AiIngestionWorker, database_url, redis_url) as worker:
        wait_until(lambda: (jobs(worker, "ai-ingestion", "deferred") or 0) >= 1, 10)
        assert fetch(database_url, "SELECT * FROM ai_documents") == []
    # New versions are not even sent for ingestion while the flag is off.
    new_version(core)
    assert queued(redis_url, "ai-ingestion") == []


def test_a_database_outage_defers_jobs_without_using_their_attempts(
    postgres: _postgres.Postgres,
    toxiproxy: _toxiproxy.Toxiproxy,
    redis_url: str,
    logs: CapturedLogs,
) -> None:
    database_url = postgres.create_database()
    proxy_port = toxiproxy.create_proxy("postgres", postgres.port)
    proxied_url = database_url.replace(f":{postgres.port}/", f":{proxy_port}/")
    notice = Notify(kind=NotificationKind.QUOTE_SIGNED, resource_type="quote", resource_id="q2")
    with running_worker(NotificationsWorker, proxied_url, redis_url, max_attempts=2) as worker:
        toxiproxy.set_enabled("postgres", False)
        job_id = submit(redis_url, JobKind.NOTIFY, notice)

        def outage_deferrals() -> int:
            lines = logs.lines()
            return sum(e["message"] == "job deferred" and e.get("job_id") == job_id for e in lines)

        # More deliveries than the job has attempts: each one failed on the database.
        wait_until(lambda: outage_deferrals() >= 3, 15, what="the job deferred three times")
        toxiproxy.set_enabled("postgres", True)
        wait_until(lambda: jobs(worker, "notifications", "succeeded") == 1, 15, what="the job")
    assert dead_letters(redis_url, "notifications") == []
    deferred = [e for e in logs.lines() if e["message"] == "job deferred"]
    assert {(e["reason"], e["error_code"]) for e in deferred} == {("outage", "db_unavailable")}
    (sent,) = fetch(database_url, "SELECT * FROM notifications")
    assert sent["job_id"] == job_id


def test_notifications_are_sent_once(database_url: str, redis_url: str, logs: CapturedLogs) -> None:
    notice = Notify(kind=NotificationKind.QUOTE_SIGNED, resource_type="quote", resource_id="q1")
    job_id = submit(redis_url, JobKind.NOTIFY, notice)
    with redis.Redis.from_url(redis_url) as client:
        client.lpush("notifications", client.lindex("notifications", 0))  # redelivered
    with running_worker(NotificationsWorker, database_url, redis_url) as worker:
        wait_until(
            lambda: (
                sample(
                    worker,
                    "worker_job_count_total",
                    {"queue": "notifications", "status": "succeeded"},
                )
                == 2
            ),
            10,
        )
    (sent,) = fetch(database_url, "SELECT * FROM notifications")
    assert (sent["job_id"], sent["kind"], sent["resource_id"]) == (job_id, "quote_signed", "q1")
    messages = sorted(e["message"] for e in logs.lines() if e["message"].startswith("notific"))
    assert messages == ["notification already sent", "notification sent"]


def _insert_run_events(database_url: str, count: int, automation: str = "automation-1") -> None:
    for i in range(count):
        fetch(
            database_url,
            "INSERT INTO run_events (event_id, tenant_id, automation_id, status, occurred_at,"
            " received_at) VALUES ($1, 't1', $2, 'succeeded', $3, now())",
            f"evt-{automation}-{i}",
            automation,
            datetime(2024, 5, 1, 12, i, tzinfo=UTC),
        )


def test_usage_is_recomputed_from_run_events(database_url: str, redis_url: str) -> None:
    _insert_run_events(database_url, 3)
    _insert_run_events(database_url, 1, automation="automation-2")
    usage = AggregateUsage(
        tenant_id="t1",
        automation_id="automation-1",
        period=datetime(2024, 5, 1).date(),
        received_at=0,
    )
    for _ in range(2):  # a redelivery must not double count
        submit(redis_url, JobKind.AGGREGATE_USAGE, usage)
    with running_worker(UsageAggregationWorker, database_url, redis_url) as worker:
        wait_until(
            lambda: sample(worker, "usage_aggregates_updated_total") == 2, 10, what="aggregation"
        )
        lag = sample(worker, "usage_aggregation_lag_seconds_count")
        assert lag == 2
    (row,) = fetch(database_url, "SELECT * FROM usage_aggregates")
    assert (row["automation_id"], str(row["period"]), row["run_count"]) == (
        "automation-1",
        "2024-05-01",
        3,
    )


def test_unreadable_jobs_are_dead_lettered_at_once(
    database_url: str, redis_url: str, logs: CapturedLogs
) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.lpush("notifications", b"{not a job")
    submit(redis_url, JobKind.NOTIFY, {"kind": "nonsense"})  # a job, but not a notification
    with running_worker(NotificationsWorker, database_url, redis_url):
        wait_until(lambda: len(dead_letters_raw(redis_url)) == 2, 10, what="two dead letters")
    assert sum(1 for e in logs.lines() if e.get("error_code") == "queue_dead_lettered") == 2


def dead_letters_raw(redis_url: str) -> list[bytes]:
    with redis.Redis.from_url(redis_url) as client:
        return list(client.lrange("notifications:dead", 0, -1))


def test_worker_serves_health_and_metrics(database_url: str, redis_url: str) -> None:
    with running_worker(NotificationsWorker, database_url, redis_url) as worker:
        assert worker.get("/healthz").json() == {"status": "ok"}
        body = worker.get("/metrics").text
    for family in (
        'worker_job_count_total{queue="notifications",status="succeeded"} 0.0',
        'worker_dead_letter_count_total{queue="notifications"} 0.0',
        'worker_job_duration_seconds_bucket{le="60.0",queue="notifications"}',
        'worker_job_duration_seconds_bucket{le="300.0",queue="notifications"}',
        "db_connection_pool_in_use",
        "db_lock_wait_time_seconds_count 0.0",  # unlabelled: there from startup
    ):
        assert family in body
    assert "queue_depth" not in body  # core alone samples queue depths


def test_the_build_worker_exposes_platform_call_latency_from_startup() -> None:
    registry = CollectorRegistry()
    BuildWorker(registry)
    for call in ("create_workflow", "deactivate_workflow"):
        labels = {"call": call, "le": "0.4"}
        assert registry.get_sample_value("wrk_platform_call_duration_seconds_bucket", labels) == 0


@pytest.mark.parametrize(
    "factory", [AiIngestionWorker, NotificationsWorker, UsageAggregationWorker]
)
def test_each_handler_registers_on_its_queue(factory: Any) -> None:
    handler = factory(CollectorRegistry())
    assert handler.queue.value in {"ai-ingestion", "notifications", "usage-aggregation"}
