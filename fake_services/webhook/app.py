"""Webhook HTTP app: `POST /v1/webhooks/run-events`; startup connects Postgres and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from fake_services import routes
from fake_services.db import connect
from fake_services.observability import DbMetrics, Telemetry, create_service_app
from fake_services.observability.domain_metrics import RunEventMetrics
from fake_services.queue import Producer, connect_redis
from fake_services.webhook.events import RunEventStore
from fake_services.webhook.ingest import RunEventIngestion
from fake_services.webhook.receipts import Receipts
from fake_services.webhook.settings import WebhookSettings


def create_app(settings: WebhookSettings, telemetry: Telemetry) -> FastAPI:
    db_metrics = DbMetrics(telemetry.registry)
    event_metrics = RunEventMetrics(telemetry.registry)
    tracer = telemetry.tracing.tracer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await connect(settings.database, tracer, db_metrics)
        client = connect_redis(settings.redis_url)
        try:
            app.state.ingestion = RunEventIngestion(
                settings,
                RunEventStore(db),
                Producer(client, tracer),
                Receipts(client),
                event_metrics,
            )
            yield
        finally:
            await client.aclose()
            await db.close()

    # The sender is the WRK Platform, not a user: identity comes from the signed event.
    app = create_service_app(
        telemetry, routes.WEBHOOK_ROUTES, trust_identity_headers=False, lifespan=lifespan
    )

    @app.post(routes.WEBHOOK_RUN_EVENTS)
    async def run_events(request: Request) -> dict[str, Any]:
        ingestion: RunEventIngestion = request.app.state.ingestion
        return await ingestion.ingest(request)

    return app
