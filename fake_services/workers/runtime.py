"""The worker loop: consumers taking jobs from one queue, and the housekeeping around them.

Housekeeping (each an untraced periodic task):
  heartbeat  renews this worker's lease key, every lease/3
  reap       returns jobs of workers whose lease expired to the ready list
  promote    moves retries whose backoff has elapsed back to the ready list
  orphans    returns jobs this process holds in Redis but no consumer works on (a settle that
             failed during a Redis outage), once seen twice in a row
  flags      refreshes the feature flags
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from fake_services.observability import ErrorCode, get_logger
from fake_services.observability.queue_metrics import WorkerMetrics
from fake_services.periodic import Periodic, run_every, stop_tasks
from fake_services.queue import Job
from fake_services.queue.job_runs import JobRuns
from fake_services.queue.redis_client import REDIS_FAILURES
from fake_services.queue.reliable import ReliableQueue
from fake_services.workers.execute import JobExecutor, Outcome
from fake_services.workers.handler import JobHandler, WorkerContext

_log = get_logger(__name__)

BLOCK_S = 1.0
PROMOTE_INTERVAL_S = 0.5
REDIS_RETRY_S = 1.0
SETTLE_DEADLINE_S = 30.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class WorkerRuntime:
    def __init__(
        self, handler: JobHandler, ctx: WorkerContext, metrics: WorkerMetrics, worker_id: str
    ) -> None:
        settings = ctx.settings
        self._handler = handler
        self._ctx = ctx
        self._metrics = metrics
        self._queue = ReliableQueue(ctx.redis, handler.queue, worker_id, settings.lease_s)
        self._runs = JobRuns(ctx.db)
        self._executor = JobExecutor(
            handler, self._runs, settings.retry, settings.defer_s, ctx.tracer
        )
        self._held: set[bytes] = set()
        self._suspects: set[bytes] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then hand back whatever is still held."""
        await self._queue.register()
        _log.info("worker started", queue=self._handler.queue, worker_id=self._queue.worker_id)
        tasks = [asyncio.create_task(run_every(p, stop), name=p.name) for p in self._housekeeping()]
        tasks += [
            asyncio.create_task(self._consume(stop), name=f"consumer-{i}")
            for i in range(self._ctx.settings.concurrency)
        ]
        try:
            await stop.wait()
        finally:
            await stop_tasks(tasks)
            try:
                await self._queue.leave()
            except REDIS_FAILURES as exc:
                _log.warning("could not hand back held jobs", error_type=type(exc).__name__)

    def _housekeeping(self) -> list[Periodic]:
        lease = self._ctx.settings.lease_s
        return [
            Periodic("heartbeat", lease / 3, self._queue.heartbeat),
            Periodic("reap", max(0.5, lease / 2), self._reap),
            Periodic("promote", PROMOTE_INTERVAL_S, self._queue.promote_due),
            Periodic("orphans", max(0.5, lease / 2), self._return_orphans),
            Periodic(
                "feature-flags", self._ctx.settings.refresh_interval_s, self._ctx.flags.refresh
            ),
        ]

    async def _reap(self) -> None:
        moved = await self._queue.reap()
        if moved:
            _log.warning("reclaimed jobs of a dead worker", queue=self._handler.queue, jobs=moved)

    async def _return_orphans(self) -> None:
        held = {raw for raw in await self._queue.held() if raw not in self._held}
        for raw in held & self._suspects:
            await self._queue.release(raw)
        self._suspects = held - self._suspects

    async def _consume(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                raw = await self._queue.fetch(BLOCK_S)
            except REDIS_FAILURES:
                await asyncio.sleep(REDIS_RETRY_S)
                continue
            if raw is None:
                continue
            self._held.add(raw)
            try:
                await self._process(raw)
            finally:
                self._held.discard(raw)

    async def _process(self, raw: bytes) -> None:
        try:
            job = Job.decode(raw)
        except ValidationError:
            _log.error("unreadable job dead-lettered", error_code=ErrorCode.QUEUE_DEAD_LETTERED)
            await self._settle(lambda: self._queue.dead_letter(raw, raw))
            return
        started = time.perf_counter()
        outcome = await self._executor.run(job)
        await self._conclude(raw, outcome)
        self._metrics.finished(job.queue, outcome.status, time.perf_counter() - started)

    async def _conclude(self, raw: bytes, outcome: Outcome) -> None:
        job = outcome.job
        if outcome.status == "succeeded":
            # Recorded before the ack: a crash in between re-runs an idempotent job, whereas the
            # other order could lose the finish time.
            await self._record(job, "succeeded")
            await self._settle(lambda: self._queue.ack(raw))
            self._metrics.completed(job.queue, time.time() - job.enqueued_at)
        elif outcome.status == "dead_lettered":
            await self._settle(lambda: self._queue.dead_letter(raw, job.encode().encode()))
            await self._record(job, "dead_lettered", outcome.error_code)
            await self._after_dead_letter(job)
        else:
            await self._settle(lambda: self._queue.schedule(raw, job, outcome.delay_s))
            await self._record(job, outcome.status, outcome.error_code)

    async def _record(self, job: Job, status: str, error_code: str | None = None) -> None:
        try:
            await self._runs.finished(job, status, error_code)
        except Exception as exc:  # the job's own outcome stands; only its SLI row is stale
            _log.warning("could not record job outcome", error_type=type(exc).__name__)

    async def _after_dead_letter(self, job: Job) -> None:
        try:
            await self._handler.on_dead_letter(job)
        except Exception as exc:
            _log.warning("dead-letter follow-up failed", error_type=type(exc).__name__)

    async def _settle(self, operation: Callable[[], Awaitable[object]]) -> None:
        """Retry a Redis write through a short outage; past the deadline the orphan sweep
        returns the job to the queue."""
        deadline = time.monotonic() + SETTLE_DEADLINE_S
        while True:
            try:
                await operation()
                return
            except REDIS_FAILURES as exc:
                if time.monotonic() > deadline:
                    _log.error("could not settle job", error_type=type(exc).__name__)
                    return
                await asyncio.sleep(REDIS_RETRY_S)
