"""`/v1/admin/rate-limit`: the edge's runtime traffic-shaping lever (spec §6.2), admin scope."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fake_services import routes
from fake_services.edge.guard import Guard
from fake_services.edge.ratelimit import RateLimiter
from fake_services.observability import get_logger
from fake_services.observability.edge_metrics import RateLimitMetrics

_log = get_logger(__name__)

MAX_RPS = 1_000_000.0


class RateLimitState(BaseModel):
    # Per tenant; null means no limit.
    requests_per_second: float | None = Field(default=None, gt=0, le=MAX_RPS)
    burst: float | None = Field(default=None, ge=1, le=MAX_RPS)


def lever_router(guard: Guard, limiter: RateLimiter, metrics: RateLimitMetrics) -> APIRouter:
    router = APIRouter()

    def state() -> RateLimitState:
        rps = limiter.requests_per_second
        return RateLimitState(requests_per_second=rps, burst=limiter.burst if rps else None)

    @router.get(routes.EDGE_RATE_LIMIT)
    async def get_rate_limit(request: Request) -> RateLimitState:
        guard.admit(request.headers, request.scope)
        return state()

    @router.put(routes.EDGE_RATE_LIMIT)
    async def put_rate_limit(request: Request, body: RateLimitState) -> RateLimitState:
        guard.admit(request.headers, request.scope)
        limiter.configure(body.requests_per_second, body.burst)
        metrics.configured(body.requests_per_second)
        # WARN: an operator action that changes what clients experience.
        _log.warning(
            "rate limit changed",
            requests_per_second=body.requests_per_second,
            burst=limiter.burst if body.requests_per_second else None,
        )
        return state()

    return router
