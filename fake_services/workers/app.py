"""A worker process: the runtime consuming one queue, plus /healthz and /metrics on WRK_PORT."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fake_services.db import connect
from fake_services.flags import FeatureFlags
from fake_services.observability import (
    CollectorRegistry,
    DbMetrics,
    Telemetry,
    create_service_app,
)
from fake_services.observability.queue_metrics import WorkerMetrics
from fake_services.queue import Producer, connect_redis
from fake_services.routes import WORKER_ROUTES
from fake_services.workers.handler import JobHandler, WorkerContext
from fake_services.workers.runtime import WorkerRuntime, new_worker_id
from fake_services.workers.settings import WorkerSettings

HandlerFactory = Callable[[CollectorRegistry], JobHandler]


def create_app(
    settings: WorkerSettings, telemetry: Telemetry, create_handler: HandlerFactory
) -> FastAPI:
    registry = telemetry.registry
    handler = create_handler(registry)  # its metrics exist once per process
    db_metrics = DbMetrics(registry)
    worker_metrics = WorkerMetrics(registry, [handler.queue])
    tracer = telemetry.tracing.tracer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await connect(settings.database, tracer, db_metrics)
        # One connection per consumer blocks in BLMOVE; the rest serve housekeeping and acks.
        client = connect_redis(settings.redis_url, max_connections=settings.concurrency + 16)
        flags = FeatureFlags(db)
        ctx = WorkerContext(settings, db, client, Producer(client, tracer), flags, tracer)
        stop = asyncio.Event()
        try:
            # The client connects lazily; a worker can do nothing without Redis, and without
            # this round trip (bounded by the client's timeouts) one whose Redis is unreachable
            # would report ready with no consumer running. Core and the webhook start anyway:
            # they serve what needs no queue and answer the rest 503 queue_unavailable.
            await client.ping()
            with contextlib.suppress(Exception):
                await flags.refresh()  # defaults until the first successful refresh
            await handler.start(ctx)
            runtime = WorkerRuntime(handler, ctx, worker_metrics, new_worker_id())
            app.state.runtime = runtime
            running = asyncio.create_task(runtime.run(stop), name="worker")
            yield
            stop.set()
            await running
        finally:
            stop.set()
            await handler.stop()
            await client.aclose()
            await db.close()

    return create_service_app(
        telemetry, WORKER_ROUTES, trust_identity_headers=False, lifespan=lifespan
    )
