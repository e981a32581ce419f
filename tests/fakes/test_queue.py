"""Reliable delivery on Redis: hold, acknowledge, retry later, dead-letter, reclaim."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
import redis.asyncio as aioredis
from opentelemetry.trace import Tracer

from fake_services.observability import ErrorCode, ServiceError, context, create_telemetry
from fake_services.observability.context import RequestContext
from fake_services.queue import Job, Producer, connect_redis
from fake_services.queue.payloads import BuildVersion, IngestVersion, JobKind
from fake_services.queue.producer import Submission
from fake_services.queue.reliable import ReliableQueue, RetryPolicy, queue_depth
from fake_services.routes import WORKER_ROUTES

from ._processes import free_port
from ._spans import read_spans

Q = "test-queue"
T = TypeVar("T")


def run(redis_url: str, scenario: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
    async def main() -> T:
        client = connect_redis(redis_url)
        try:
            return await scenario(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def tracer() -> Tracer:
    return create_telemetry("test", WORKER_ROUTES).tracing.tracer


def test_enqueue_carries_correlation_and_a_job_is_held_until_acked(redis_url: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        ctx = RequestContext(request_id="req-queue-0001", tenant_id="t1", user_id="u1")
        with context.bound(ctx), tracer().start_as_current_span("request"):
            job = await Producer(client, tracer()).enqueue(Q, "kind", {"x": 1})
        assert (job.request_id, job.tenant_id, job.user_id) == ("req-queue-0001", "t1", "u1")
        assert job.traceparent is not None and job.traceparent.startswith("00-")
        assert abs(job.enqueued_at - time.time()) < 5
        worker = ReliableQueue(client, Q, "w1", lease_s=5)
        await worker.register()
        raw = await worker.fetch(0.1)
        assert raw is not None and Job.decode(raw).id == job.id
        assert await worker.held() == [raw]
        assert await client.llen(Q) == 0
        assert await worker.ack(raw)
        assert await worker.held() == []
        assert not await worker.ack(raw)  # no longer ours
        assert await worker.fetch(0.1) is None

    run(redis_url, scenario)


def test_a_retry_waits_for_its_due_time(redis_url: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        await Producer(client, tracer()).enqueue(Q, "kind", {})
        worker = ReliableQueue(client, Q, "w1", lease_s=5)
        raw = await worker.fetch(0.1)
        assert raw is not None
        retry = Job.decode(raw).model_copy(update={"attempts": 1})
        await worker.schedule(raw, retry, delay_s=0.3)
        assert await worker.held() == []
        assert await worker.promote_due() == 0
        depth = await queue_depth(client, Q)
        assert (depth.waiting, depth.in_flight) == (1, 0)
        await asyncio.sleep(0.35)
        assert await worker.promote_due() == 1
        again = await worker.fetch(0.1)
        assert again is not None and Job.decode(again).attempts == 1

    run(redis_url, scenario)


def test_dead_letters_are_kept_apart(redis_url: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        await Producer(client, tracer()).enqueue(Q, "kind", {})
        worker = ReliableQueue(client, Q, "w1", lease_s=5)
        raw = await worker.fetch(0.1)
        assert raw is not None
        await worker.dead_letter(raw, b"dead job")
        assert await client.lrange(f"{Q}:dead", 0, -1) == [b"dead job"]
        depth = await queue_depth(client, Q)
        assert (depth.waiting, depth.in_flight, depth.dead) == (0, 0, 1)

    run(redis_url, scenario)


def test_jobs_of_a_worker_whose_lease_expired_are_reclaimed(redis_url: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        job = await Producer(client, tracer()).enqueue(Q, "kind", {})
        dying = ReliableQueue(client, Q, "dying", lease_s=0.2)
        alive = ReliableQueue(client, Q, "alive", lease_s=5)
        await dying.register()
        await alive.register()
        assert await dying.fetch(0.1) is not None
        assert await alive.reap() == 0  # the lease still runs
        assert (await queue_depth(client, Q)).in_flight == 1
        await asyncio.sleep(0.3)
        assert await alive.reap() == 1
        assert await client.smembers(f"{Q}:workers") == {b"alive"}
        raw = await alive.fetch(0.1)
        assert raw is not None and Job.decode(raw).id == job.id

    run(redis_url, scenario)


def test_a_clean_leave_hands_jobs_back_at_once(redis_url: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        await Producer(client, tracer()).enqueue(Q, "kind", {})
        worker = ReliableQueue(client, Q, "w1", lease_s=60)
        await worker.register()
        assert await worker.fetch(0.1) is not None
        await worker.leave()
        assert await client.llen(Q) == 1

    run(redis_url, scenario)


def test_an_orphan_can_be_released(redis_url: str) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        await Producer(client, tracer()).enqueue(Q, "kind", {})
        worker = ReliableQueue(client, Q, "w1", lease_s=60)
        raw = await worker.fetch(0.1)
        assert raw is not None
        assert await worker.release(raw)
        assert not await worker.release(raw)
        assert await client.llen(Q) == 1

    run(redis_url, scenario)


def test_connecting_leaves_no_error_on_the_server(redis_url: str) -> None:
    async def scenario(client: aioredis.Redis) -> list[str]:
        await client.config_resetstat()  # this client's own connection is counted before it
        fresh = connect_redis(redis_url)
        try:
            await fresh.ping()
        finally:
            await fresh.aclose()
        return [key for key in await client.info("errorstats") if key.startswith("errorstat_")]

    assert run(redis_url, scenario) == []


def test_enqueue_fails_as_queue_unavailable() -> None:
    async def scenario() -> None:
        client = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
        try:
            with pytest.raises(ServiceError) as caught:
                await Producer(client, tracer()).enqueue(Q, "kind", {})
        finally:
            await client.aclose()
        assert caught.value.code is ErrorCode.QUEUE_UNAVAILABLE
        assert caught.value.status == 503

    asyncio.run(scenario())


def test_jobs_submitted_together_go_in_one_transaction_each_with_its_own_span(
    redis_url: str, tmp_path: Path
) -> None:
    tracing = create_telemetry("test", WORKER_ROUTES, tmp_path / "spans.jsonl").tracing
    version = BuildVersion(version_id=uuid.uuid4())

    async def scenario(client: aioredis.Redis) -> list[Job]:
        transactions = await exec_calls(client)
        with tracing.tracer.start_as_current_span("request"):
            build, ingest = await Producer(client, tracing.tracer).submit_all(
                Submission(JobKind.BUILD_VERSION, version),
                Submission(JobKind.INGEST_VERSION, IngestVersion(version_id=version.version_id)),
            )
        assert await exec_calls(client) == transactions + 1
        assert [Job.decode(raw).id for raw in await client.lrange("build-requests", 0, -1)] == [
            build.id
        ]
        assert [Job.decode(raw).id for raw in await client.lrange("ai-ingestion", 0, -1)] == [
            ingest.id
        ]
        assert build.payload == {"version_id": str(version.version_id)}
        return [build, ingest]

    jobs = run(redis_url, scenario)
    tracing.shutdown()
    spans = {span["name"]: span for span in read_spans(tmp_path / "spans.jsonl")}
    request = spans["request"]
    for queue, job in zip(("build-requests", "ai-ingestion"), jobs, strict=True):
        span = spans[f"enqueue {queue}"]
        # Siblings under the request, not nested; each job's traceparent names its own span.
        assert span["parent_span_id"] == request["span_id"]
        assert (span["kind"], span["status"]) == ("PRODUCER", "UNSET")
        assert span["end_unix_ns"] >= span["start_unix_ns"]
        assert span["attributes"]["job_id"] == job.id
        assert job.traceparent is not None
        version, trace_id, span_id, flags = job.traceparent.split("-")
        assert (version, trace_id, span_id) == ("00", span["trace_id"], span["span_id"])
        assert int(flags, 16) & 1  # sampled


def test_jobs_submitted_together_fail_together_as_queue_unavailable(tmp_path: Path) -> None:
    tracing = create_telemetry("test", WORKER_ROUTES, tmp_path / "spans.jsonl").tracing
    version = BuildVersion(version_id=uuid.uuid4())

    async def scenario() -> None:
        client = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
        try:
            with pytest.raises(ServiceError) as caught:
                await Producer(client, tracing.tracer).submit_all(
                    Submission(JobKind.BUILD_VERSION, version),
                    Submission(
                        JobKind.INGEST_VERSION, IngestVersion(version_id=version.version_id)
                    ),
                )
        finally:
            await client.aclose()
        assert caught.value.code is ErrorCode.QUEUE_UNAVAILABLE

    asyncio.run(scenario())
    tracing.shutdown()
    statuses = {span["name"]: span["status"] for span in read_spans(tmp_path / "spans.jsonl")}
    assert statuses == {"enqueue build-requests": "ERROR", "enqueue ai-ingestion": "ERROR"}


def test_a_push_cancelled_midway_marks_its_span_failed(tmp_path: Path) -> None:
    tracing = create_telemetry("test", WORKER_ROUTES, tmp_path / "spans.jsonl").tracing

    async def scenario() -> None:
        with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
            port = silent.getsockname()[1]
            client = connect_redis(f"redis://127.0.0.1:{port}/0")
            try:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(
                        Producer(client, tracing.tracer).enqueue(Q, "k", {}), 0.3
                    )
            finally:
                await client.aclose()

    asyncio.run(scenario())
    tracing.shutdown()
    statuses = [span["status"] for span in read_spans(tmp_path / "spans.jsonl")]
    assert statuses == ["ERROR"]


async def exec_calls(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_exec", {}).get("calls", 0))


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=6.0)
    for attempts, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 6.0), (9, 6.0)]:
        delays = [policy.delay_s(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
