"""What core's handlers need, built at startup, and the dependencies that hand it to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from fake_services.core.automations import AutomationRepository
from fake_services.core.clients import Client
from fake_services.core.platform_client import PlatformClient
from fake_services.core.projects import Project
from fake_services.core.quotes import Quote
from fake_services.core.records import TenantTable
from fake_services.core.tenants import TenantRepository
from fake_services.core.versions import VersionRepository
from fake_services.flags import FeatureFlags
from fake_services.observability import ErrorCode, ServiceError, current
from fake_services.observability.domain_metrics import ClientHealthMetrics
from fake_services.queue import Producer


@dataclass(frozen=True)
class CoreServices:
    """Built in the lifespan: the pool and the Redis client only exist once the loop runs."""

    automations: AutomationRepository
    versions: VersionRepository
    tenants: TenantRepository
    projects: TenantTable[Project]
    quotes: TenantTable[Quote]
    clients: TenantTable[Client]
    flags: FeatureFlags
    platform: PlatformClient
    producer: Producer
    client_health: ClientHealthMetrics


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
# thread, a hop that costs more than everything these functions do.
async def services(request: Request) -> CoreServices:
    built: CoreServices = request.app.state.services
    return built


async def tenant_id() -> str:
    ctx = current()
    if ctx is None or not ctx.tenant_id:
        raise ServiceError(ErrorCode.VALIDATION_FAILED, "X-Tenant-ID header is required", 400)
    return ctx.tenant_id


async def user_id() -> str | None:
    ctx = current()
    return ctx.user_id if ctx is not None else None


Services = Annotated[CoreServices, Depends(services)]
TenantId = Annotated[str, Depends(tenant_id)]
UserId = Annotated[str | None, Depends(user_id)]
Limit = Annotated[int, Query(ge=1, le=200)]
