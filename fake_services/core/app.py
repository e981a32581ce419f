"""Core HTTP app: startup connects the database (migrating it), Redis and the platform client,
and runs the periodic refreshes (domain gauges, feature flags, queue depths, platform probe)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import redis.asyncio as redis
from fastapi import Depends, FastAPI, Request

from fake_services import defects
from fake_services.core import admin_api, api, flags_api, versions_api
from fake_services.core.automations import AutomationRepository
from fake_services.core.clients import clients_table
from fake_services.core.domain_gauges import DomainGauges
from fake_services.core.platform_client import CALLS, PlatformClient
from fake_services.core.platform_probe import PlatformProbe
from fake_services.core.projects import projects_table
from fake_services.core.quotes import quotes_table
from fake_services.core.services import CoreServices
from fake_services.core.settings import CoreSettings
from fake_services.core.tenants import TenantRepository
from fake_services.core.versions import VersionRepository
from fake_services.db import Database, connect
from fake_services.flags import FeatureFlags, Flag
from fake_services.observability import (
    DbMetrics,
    PlatformCallMetrics,
    Telemetry,
    create_service_app,
    write_unredacted,
)
from fake_services.observability.domain_metrics import FeatureFlagMetrics
from fake_services.observability.metrics import PlatformUpMetric
from fake_services.observability.queue_metrics import QueueDepthMetrics
from fake_services.periodic import Periodic, running
from fake_services.queue import ALL_QUEUES, Producer, connect_redis
from fake_services.queue.depth import QueueDepthSampler
from fake_services.routes import CORE_ROUTES

ROUTERS = (api.router, versions_api.router, admin_api.router, flags_api.router)


@dataclass(frozen=True)
class CoreMetrics:
    """Metric families belong to the app, not to one run of its lifespan (which may restart)."""

    db: DbMetrics
    platform: PlatformCallMetrics
    platform_up: PlatformUpMetric
    flags: FeatureFlagMetrics
    queues: QueueDepthMetrics
    domain: DomainGauges

    @classmethod
    def create(cls, telemetry: Telemetry) -> CoreMetrics:
        registry = telemetry.registry
        return cls(
            db=DbMetrics(registry),
            platform=PlatformCallMetrics(registry, known_calls=CALLS),
            platform_up=PlatformUpMetric(registry),
            flags=FeatureFlagMetrics(registry),
            queues=QueueDepthMetrics(registry),
            domain=DomainGauges(registry),
        )


def _services(
    *,
    db: Database,
    client: redis.Redis,
    platform: PlatformClient,
    flags: FeatureFlags,
    telemetry: Telemetry,
    metrics: CoreMetrics,
) -> CoreServices:
    return CoreServices(
        automations=AutomationRepository(db),
        versions=VersionRepository(db),
        tenants=TenantRepository(db),
        projects=projects_table(db),
        quotes=quotes_table(db),
        clients=clients_table(db),
        flags=flags,
        platform=platform,
        producer=Producer(client, telemetry.tracing.tracer),
        client_health=metrics.domain.client_health,
    )


def _refreshers(
    svc: CoreServices,
    client: redis.Redis,
    probe: PlatformProbe,
    metrics: CoreMetrics,
    settings: CoreSettings,
) -> list[Periodic]:
    async def gauges() -> None:
        await metrics.domain.refresh(svc)

    depths = QueueDepthSampler(client, metrics.queues, ALL_QUEUES)
    interval_s = settings.refresh_interval_s
    return [
        Periodic("feature-flags", interval_s, svc.flags.refresh),
        Periodic("domain-gauges", interval_s, gauges),
        Periodic("queue-depths", settings.queue_depth_interval_s, depths.sample),
        Periodic("platform-probe", settings.platform_probe_interval_s, probe.probe),
    ]


async def _log_credentials(request: Request) -> None:
    """Defect log_secret (fake_services.defects): the raw credential, once per request."""
    write_unredacted(
        "core", "request credentials", authorization=request.headers.get("authorization")
    )


def create_app(
    settings: CoreSettings,
    telemetry: Telemetry,
    platform_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    metrics = CoreMetrics.create(telemetry)
    tracer = telemetry.tracing.tracer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await connect(settings.database, tracer, metrics.db)
        client = connect_redis(settings.redis_url)
        flags = FeatureFlags(db, metrics.flags)
        platform = PlatformClient(
            settings.platform_url,
            settings.platform_timeout_s,
            tracer,
            metrics.platform,
            transport=platform_transport,
            enabled=lambda: flags.enabled(Flag.WRK_PLATFORM_CALLS),
        )
        probe = PlatformProbe(
            settings.platform_url,
            settings.platform_probe_timeout_s,
            metrics.platform_up,
            transport=platform_transport,
        )
        try:
            await flags.refresh()
            svc = _services(
                db=db,
                client=client,
                platform=platform,
                flags=flags,
                telemetry=telemetry,
                metrics=metrics,
            )
            app.state.services = svc
            async with running(_refreshers(svc, client, probe, metrics, settings)):
                yield
        finally:
            await probe.aclose()
            await platform.aclose()
            await client.aclose()
            await db.close()

    # Core sits behind the edge, which has already authenticated the caller.
    app = create_service_app(telemetry, CORE_ROUTES, trust_identity_headers=True, lifespan=lifespan)
    leak = defects.active(defects.Defect.LOG_SECRET)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(_log_credentials)] if leak else None)
    return app
