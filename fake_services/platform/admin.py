"""The platform's admin levers, driven by the harness: faults, run events, workflow counts."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from fake_services import routes
from fake_services.observability import ErrorCode, ServiceError, get_logger
from fake_services.platform.faults import FaultConfig, FaultInjector
from fake_services.platform.run_events import RunEventSender, Stream
from fake_services.platform.store import WorkflowStore
from fake_services.text import Identifier

_log = get_logger(__name__)

MAX_RATE_PER_S = 5000.0
MAX_BATCH = 10_000


class StreamConfig(BaseModel):
    rate_per_s: float = Field(ge=0, le=MAX_RATE_PER_S)
    tenant_id: Identifier | None = None
    automation_ids: list[Identifier] = Field(default_factory=list, max_length=100)


class BatchRequest(BaseModel):
    count: int = Field(ge=1, le=MAX_BATCH)
    tenant_id: Identifier | None = None
    automation_ids: list[Identifier] = Field(default_factory=list, max_length=100)


class BatchSent(BaseModel):
    event_ids: list[str]


class SenderStatus(BaseModel):
    rate_per_s: float
    tenant_id: str
    generated: int
    acknowledged: int
    duplicates: int
    rejected: int
    abandoned: int
    pending: int
    attempts: int
    retries: int


class WorkflowCounts(BaseModel):
    total: int
    by_status: dict[str, int]
    idempotency_keys: int


def admin_router(
    injector: FaultInjector, sender: RunEventSender, store: WorkflowStore
) -> APIRouter:
    router = APIRouter()

    def require_webhook() -> None:
        if not sender.enabled:
            raise ServiceError(
                ErrorCode.FEATURE_DISABLED, "WRK_WEBHOOK_URL is not configured on the platform"
            )

    @router.get(routes.PLATFORM_FAULTS)
    async def get_faults() -> FaultConfig:
        return injector.config

    @router.put(routes.PLATFORM_FAULTS)
    async def put_faults(body: FaultConfig) -> FaultConfig:
        injector.config = body
        _log.warning("fault mode changed", mode=body.mode, ratio=body.ratio, delay_ms=body.delay_ms)
        return body

    @router.get(routes.PLATFORM_WORKFLOW_STATS)
    async def workflow_counts() -> WorkflowCounts:
        counts = store.counts()
        return WorkflowCounts(
            total=sum(counts.values()), by_status=counts, idempotency_keys=len(store.by_key)
        )

    @router.put(routes.PLATFORM_RUN_EVENTS)
    async def put_stream(body: StreamConfig) -> SenderStatus:
        require_webhook()
        tenants = (body.tenant_id,) if body.tenant_id else sender.stream.tenant_ids
        sender.set_stream(Stream(body.rate_per_s, tenants, list(body.automation_ids)))
        return status()

    @router.post(routes.PLATFORM_RUN_EVENTS_BATCH, status_code=202)
    async def send_batch(body: BatchRequest) -> BatchSent:
        require_webhook()
        tenant = body.tenant_id or sender.stream.tenant_ids[0]
        ids = sender.send_batch(body.count, tenant, list(body.automation_ids))
        _log.info("run event batch submitted", count=len(ids), batch_tenant=tenant)
        return BatchSent(event_ids=ids)

    @router.get(routes.PLATFORM_RUN_EVENTS_STATUS)
    async def get_status() -> SenderStatus:
        return status()

    def status() -> SenderStatus:
        stats = sender.stats
        return SenderStatus(
            rate_per_s=sender.stream.rate_per_s,
            tenant_id=sender.stream.tenant_id,
            generated=stats.generated,
            acknowledged=stats.acknowledged,
            duplicates=stats.duplicates,
            rejected=stats.rejected,
            abandoned=stats.abandoned,
            pending=stats.pending,
            attempts=stats.attempts,
            retries=stats.retries,
        )

    return router
