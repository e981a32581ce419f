"""Enqueueing: a PRODUCER span, correlation copied from the current request into the job."""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis
from opentelemetry.trace import SpanKind, Tracer
from pydantic import BaseModel

from fake_services.observability import ErrorCode, ServiceError, current, get_logger, tracing
from fake_services.observability.context import new_request_id
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


class Producer:
    def __init__(self, client: redis.Redis, tracer: Tracer) -> None:
        self._redis = client
        self._tracer = tracer

    async def submit(self, kind: JobKind, payload: BaseModel, job_id: str | None = None) -> Job:
        """Enqueue a typed payload on the queue its kind travels on."""
        return await self.enqueue(QUEUE_OF[kind], kind, payload.model_dump(mode="json"), job_id)

    async def enqueue(
        self, queue: str, kind: str, payload: dict[str, Any], job_id: str | None = None
    ) -> Job:
        with self._tracer.start_as_current_span(
            f"enqueue {queue}",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "redis", "messaging.destination": queue},
        ) as span:
            # Inside the span: the worker's span becomes its child.
            job = new_job(queue, kind, payload, job_id)
            span.set_attribute("job_id", job.id)
            try:
                await self._redis.lpush(ready_key(queue), job.encode())
            except REDIS_FAILURES as exc:
                _log.error(
                    "enqueue failed",
                    error_code=ErrorCode.QUEUE_UNAVAILABLE,
                    error_type=type(exc).__name__,
                    queue=queue,
                )
                raise ServiceError(
                    ErrorCode.QUEUE_UNAVAILABLE, "the job queue is unavailable"
                ) from exc
        _log.info("job enqueued", queue=queue, enqueued_job_id=job.id, job_kind=kind)
        return job
