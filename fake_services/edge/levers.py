"""`/v1/admin/rate-limit`: the edge's runtime traffic-shaping lever (spec §6.2), admin scope."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fake_services import routes
from fake_services.edge.guard import Guard
from fake_services.edge.ratelimit import Limit, RateLimiter
from fake_services.observability import get_logger
from fake_services.observability.edge_metrics import RateLimitMetrics
from fake_services.text import Identifier

_log = get_logger(__name__)

MAX_RPS = 1_000_000.0
# Enough for any blast radius triage can name; bounds the body and the metric's tenant labels.
MAX_TENANT_OVERRIDES = 1000


class TenantLimit(BaseModel):
    # Per tenant; null means no limit.
    requests_per_second: float | None = Field(default=None, gt=0, le=MAX_RPS)
    burst: float | None = Field(default=None, ge=1, le=MAX_RPS)

    @classmethod
    def of(cls, limit: Limit) -> TenantLimit:
        rps = limit.requests_per_second
        return cls(requests_per_second=rps, burst=limit.burst if rps else None)


class RateLimitState(TenantLimit):
    """The default every tenant gets, and the tenants that get their own limit instead (a
    null rate there exempts the tenant from the default)."""

    tenants: dict[Identifier, TenantLimit] = Field(
        default_factory=dict, max_length=MAX_TENANT_OVERRIDES
    )


def lever_router(guard: Guard, limiter: RateLimiter, metrics: RateLimitMetrics) -> APIRouter:
    router = APIRouter()

    def state() -> RateLimitState:
        default = TenantLimit.of(limiter.default)
        return RateLimitState(
            requests_per_second=default.requests_per_second,
            burst=default.burst,
            tenants={tenant: TenantLimit.of(limit) for tenant, limit in limiter.overrides.items()},
        )

    @router.get(routes.EDGE_RATE_LIMIT)
    async def get_rate_limit(request: Request) -> RateLimitState:
        guard.admit(request.headers, request.scope)
        return state()

    @router.put(routes.EDGE_RATE_LIMIT)
    async def put_rate_limit(request: Request, body: RateLimitState) -> RateLimitState:
        """Replaces the whole state: a tenant left out of `tenants` loses its override, and
        every bucket restarts full."""
        guard.admit(request.headers, request.scope)
        overrides = {
            tenant: Limit.of(limit.requests_per_second, limit.burst)
            for tenant, limit in body.tenants.items()
        }
        limiter.configure(body.requests_per_second, body.burst, overrides)
        metrics.configured(
            body.requests_per_second,
            {tenant: limit.requests_per_second for tenant, limit in overrides.items()},
        )
        applied = state()
        # WARN: an operator action that changes what clients experience.
        _log.warning(
            "rate limit changed",
            requests_per_second=applied.requests_per_second,
            burst=applied.burst,
            tenants=applied.model_dump()["tenants"],
        )
        return applied

    return router
