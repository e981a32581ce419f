"""Enqueueing: a PRODUCER span, correlation copied from the current request into the job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import redis.asyncio as redis
from pydantic import BaseModel

from fake_services.observability import (
    ErrorCode,
    ServiceError,
    Span,
    SpanKind,
    StatusCode,
    Tracer,
    current,
    get_logger,
    tracing,
)
from fake_services.observability.context import new_request_id
from fake_services.queue.job_runs import queued as queued_rows
from fake_services.queue.jobs import Job, new_job_id
from fake_services.queue.names import ready_key
from fake_services.queue.payloads import QUEUE_OF, JobKind
from fake_services.queue.redis_client import REDIS_FAILURES

_log = get_logger(__name__)


def new_job(queue: str, kind: str, payload: dict[str, Any], job_id: str | None = None) -> Job:
    """A job stamped with the current request's ids and the current span's traceparent; its id
    is `job_id` when the producer has a natural one (one job per event), else a fresh one."""
    carrier: dict[str, str] = {}
    tracing.inject(carrier)
    ctx = current()
    return Job(
        id=job_id or new_job_id(),
        queue=queue,
        kind=kind,
        payload=payload,
        request_id=ctx.request_id if ctx is not None else new_request_id(),
        tenant_id=ctx.tenant_id if ctx is not None else None,
        user_id=ctx.user_id if ctx is not None else None,
        traceparent=carrier.get("traceparent"),
    )


@dataclass(frozen=True, slots=True)
class Submission:
    """A typed job to enqueue: its kind (which names its queue), payload and natural id if any."""

    kind: JobKind
    payload: BaseModel
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Pending:
    job: Job
    span: Span


class Producer:
    def __init__(self, client: redis.Redis, tracer: Tracer) -> None:
        self._redis = client
        self._tracer = tracer

    async def submit(
        self,
        kind: JobKind,
        payload: BaseModel,
        job_id: str | None = None,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> Job:
        """Enqueue a typed payload on the queue its kind travels on."""
        (job,) = await self.submit_all(Submission(kind, payload, job_id), conn=conn)
        return job

    async def submit_all(
        self, *submissions: Submission, conn: asyncpg.Connection | None = None
    ) -> list[Job]:
        """Enqueue several jobs in one round trip, all or none (MULTI/EXEC): a write that
        enqueues before its commit holds its transaction open for one round trip, not one per
        job. Each job still has its own PRODUCER span and log line. `conn`, the caller's
        transaction, also gets each job's `job_runs` row, queued (job_runs.queued)."""
        jobs = await self._push(
            [
                self._pending(QUEUE_OF[s.kind], s.kind, s.payload.model_dump(mode="json"), s.job_id)
                for s in submissions
            ]
        )
        if conn is not None:
            await queued_rows(conn, jobs)
        return jobs

    async def enqueue(
        self, queue: str, kind: str, payload: dict[str, Any], job_id: str | None = None
    ) -> Job:
        (job,) = await self._push([self._pending(queue, kind, payload, job_id)])
        return job

    def _pending(
        self, queue: str, kind: str, payload: dict[str, Any], job_id: str | None
    ) -> _Pending:
        with self._tracer.start_as_current_span(
            f"enqueue {queue}",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "redis", "messaging.destination": queue},
            end_on_exit=False,  # it ends once the job is in Redis (or failed to get there)
        ) as span:
            # Inside the span: the worker's span becomes its child.
            job = new_job(queue, kind, payload, job_id)
        span.set_attribute("job_id", job.id)
        return _Pending(job, span)

    async def _push(self, pending: list[_Pending]) -> list[Job]:
        try:
            await self._send([p.job for p in pending])
        except BaseException as exc:  # a cancelled push failed too, as the span will say
            for p in pending:
                p.span.set_status(StatusCode.ERROR)
            if not isinstance(exc, REDIS_FAILURES):
                raise
            for p in pending:
                _log.error(
                    "enqueue failed",
                    error_code=ErrorCode.QUEUE_UNAVAILABLE,
                    error_type=type(exc).__name__,
                    queue=p.job.queue,
                )
            raise ServiceError(ErrorCode.QUEUE_UNAVAILABLE, "the job queue is unavailable") from exc
        finally:
            for p in pending:
                p.span.end()
        for p in pending:
            job = p.job
            _log.info("job enqueued", queue=job.queue, enqueued_job_id=job.id, job_kind=job.kind)
        return [p.job for p in pending]

    async def _send(self, jobs: list[Job]) -> None:
        if len(jobs) == 1:  # atomic as it is, and cheaper without a pipeline's MULTI/EXEC
            await self._redis.lpush(ready_key(jobs[0].queue), jobs[0].encode())
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for job in jobs:
                pipe.lpush(ready_key(job.queue), job.encode())
            await pipe.execute()
