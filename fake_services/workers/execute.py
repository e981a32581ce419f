"""Running one delivered job: its request context and span, the handler, and the outcome.

The worker continues the producer's trace (W3C traceparent from the payload) and binds the
request_id, tenant and job ids to every log line, so one request can be followed from the edge
through core to the worker that finished its job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fake_services.observability import (
    ErrorCode,
    ServiceError,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    context,
    format_trace_id,
    get_logger,
    tracing,
)
from fake_services.observability.context import RequestContext
from fake_services.queue import Job
from fake_services.queue.job_runs import JobRuns
from fake_services.queue.reliable import RetryPolicy
from fake_services.workers.errors import JobDeferred, PermanentJobError
from fake_services.workers.handler import JobHandler

_log = get_logger(__name__)

# A database that cannot be reached fails every job alike: an outage, not this job's fault. The
# job waits it out without using an attempt, so an outage shows as a backlog (queue_depth counts
# the waiting retries) instead of as dead letters. A timeout still uses one: a single job's query
# can be what is slow.
OUTAGES = frozenset({ErrorCode.DB_UNAVAILABLE})


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | failed | dead_lettered | deferred
    job: Job  # the job as it should be stored next (attempts and error updated)
    delay_s: float = 0.0
    error_code: str | None = None


def job_context(job: Job) -> RequestContext:
    return RequestContext(
        request_id=job.request_id,
        tenant_id=job.tenant_id,
        user_id=job.user_id,
        job_type=job.kind,
        job_id=job.id,
    )


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        return exc.code.value
    if isinstance(exc, PermanentJobError):
        return ErrorCode.VALIDATION_FAILED.value
    return ErrorCode.INTERNAL_ERROR.value


class JobExecutor:
    def __init__(
        self, handler: JobHandler, runs: JobRuns, retry: RetryPolicy, defer_s: float, tracer: Tracer
    ) -> None:
        self._handler = handler
        self._runs = runs
        self._retry = retry
        self._defer_s = defer_s
        self._tracer = tracer

    async def run(self, job: Job) -> Outcome:
        carrier = {"traceparent": job.traceparent} if job.traceparent else {}
        ctx = job_context(job)
        with (
            context.bound(ctx),
            self._tracer.start_as_current_span(
                f"job {job.queue}",
                context=tracing.extract(carrier),
                kind=SpanKind.CONSUMER,
                attributes={"messaging.destination": job.queue, "job_id": job.id},
            ) as span,
        ):
            ctx.trace_id = format_trace_id(span.get_span_context().trace_id)
            span.set_attribute("request_id", job.request_id)
            outcome = await self._attempt(job)
            span.set_attribute("job.status", outcome.status)
            if outcome.error_code is not None:  # failed, dead-lettered, or waiting out an outage
                span.set_status(Status(StatusCode.ERROR))
            return outcome

    async def _attempt(self, job: Job) -> Outcome:
        started = time.perf_counter()
        _log.info("job started", queue=job.queue, attempt=job.attempts + 1)
        try:
            await self._runs.started(job)
            await self._handler.handle(job)
        except JobDeferred as deferred:
            delay = deferred.delay_s or self._defer_s
            _log.info("job deferred", queue=job.queue, reason=deferred.reason, retry_in_s=delay)
            return Outcome("deferred", job, delay)
        except Exception as exc:
            if isinstance(exc, ServiceError) and exc.code in OUTAGES:
                return self._waiting_out(job, exc.code)
            return self._failed(job, exc)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        _log.info("job finished", queue=job.queue, duration_ms=duration_ms)
        return Outcome("succeeded", job)

    def _waiting_out(self, job: Job, code: ErrorCode) -> Outcome:
        _log.warning(
            "job deferred",
            queue=job.queue,
            reason="outage",
            error_code=code,
            retry_in_s=self._defer_s,
        )
        return Outcome("deferred", job, self._defer_s, code.value)

    def _failed(self, job: Job, exc: Exception) -> Outcome:
        code = _error_code(exc)
        failed = job.model_copy(update={"attempts": job.attempts + 1, "last_error_code": code})
        if isinstance(exc, PermanentJobError) or failed.attempts >= self._retry.max_attempts:
            unexpected = not isinstance(exc, ServiceError | PermanentJobError)
            _log.error(
                "job dead-lettered",
                exc_info=unexpected,
                error_code=ErrorCode.QUEUE_DEAD_LETTERED,
                cause=code,
                error_type=type(exc).__name__,
                detail=str(exc) if isinstance(exc, PermanentJobError) else None,
                queue=job.queue,
                attempts=failed.attempts,
            )
            return Outcome("dead_lettered", failed, error_code=code)
        delay = self._retry.delay_s(failed.attempts)
        _log.warning(
            "job failed; will retry",
            error_code=code,
            error_type=type(exc).__name__,
            queue=job.queue,
            attempts=failed.attempts,
            retry_in_s=round(delay, 3),
        )
        return Outcome("failed", failed, delay, code)
