"""Edge HTTP app: every /v1/* request is authenticated, authorised, rate limited and forwarded
to core, except the edge's own lever, /v1/admin/rate-limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response

from fake_services import routes
from fake_services.edge.forward import CoreForwarder
from fake_services.edge.guard import Guard
from fake_services.edge.levers import lever_router
from fake_services.edge.ratelimit import RateLimiter
from fake_services.edge.settings import EdgeSettings
from fake_services.observability import ErrorCode, ServiceError, Telemetry, create_service_app
from fake_services.observability.edge_metrics import AuthFailureMetrics, RateLimitMetrics

FORWARDED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

# The mitigation levers stay reachable when the limit is tight: an operator lifting a limit or
# flipping a flag must not be refused by the limit itself.
_UNLIMITED_PREFIXES = (routes.EDGE_RATE_LIMIT, routes.ADMIN_FEATURE_FLAGS)


def _target(request: Request) -> str:
    """Path and query exactly as the client sent them (still percent-encoded)."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def _enforce(limiter: RateLimiter, metrics: RateLimitMetrics, tenant_id: str, path: str) -> None:
    if path.startswith(_UNLIMITED_PREFIXES):
        return
    decision = limiter.check(tenant_id)
    if not decision.allowed:
        metrics.refused(tenant_id)
        raise ServiceError(
            ErrorCode.RATE_LIMITED,
            "request rate limit exceeded for this tenant",
            headers={"Retry-After": str(decision.retry_after_s)},
        )


def create_app(
    settings: EdgeSettings,
    telemetry: Telemetry,
    core_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    forwarder = CoreForwarder(
        settings.core_url, settings.core_timeout_s, telemetry, transport=core_transport
    )
    guard = Guard(
        settings, AuthFailureMetrics(telemetry.registry, settings.auth_failure_sources_max)
    )
    limiter = RateLimiter()
    limiter.configure(settings.rate_limit_rps)
    limit_metrics = RateLimitMetrics(telemetry.registry)
    limit_metrics.configured(settings.rate_limit_rps)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await forwarder.aclose()

    # Labelled with core's route templates: the edge's metrics describe the API it fronts.
    app = create_service_app(
        telemetry, routes.EDGE_ROUTES, trust_identity_headers=False, lifespan=lifespan
    )
    app.include_router(lever_router(guard, limiter, limit_metrics))

    async def forward(request: Request) -> Response:
        path = request.url.path
        if not path.startswith("/v1/"):
            raise ServiceError(ErrorCode.NOT_FOUND, "no such route")
        grant = guard.admit(request)
        _enforce(limiter, limit_metrics, grant.tenant_id, path)
        upstream = await forwarder.forward(
            request.method, _target(request), await request.body(), dict(request.headers), grant
        )
        return Response(upstream.body, status_code=upstream.status, headers=upstream.headers)

    app.add_api_route("/{path:path}", forward, methods=FORWARDED_METHODS, include_in_schema=False)
    return app
