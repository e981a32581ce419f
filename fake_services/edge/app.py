"""Edge HTTP app: every /v1/* request is authenticated, authorised, rate limited and forwarded
to core, except the edge's own lever, /v1/admin/rate-limit."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fake_services import defects, routes
from fake_services.edge.forward import CoreForwarder
from fake_services.edge.guard import Guard
from fake_services.edge.levers import lever_router
from fake_services.edge.ratelimit import RateLimiter
from fake_services.edge.settings import EdgeSettings
from fake_services.observability import (
    ErrorCode,
    ServiceError,
    Telemetry,
    create_service_app,
    get_logger,
)
from fake_services.observability.edge_metrics import AuthFailureMetrics, RateLimitMetrics

_log = get_logger(__name__)

FORWARDED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

# The mitigation levers stay reachable when the limit is tight: an operator lifting a limit or
# flipping a flag must not be refused by the limit itself.
_UNLIMITED_PREFIXES = (routes.EDGE_RATE_LIMIT, routes.ADMIN_FEATURE_FLAGS)


def _target(scope: Scope) -> str:
    """Path and query exactly as the client sent them (still percent-encoded)."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def first_values(scope: Scope) -> dict[str, str]:
    """Header name (lower case) to its first value, as Starlette's Headers reads them."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


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


class Forwarding:
    """Authenticate, authorise, rate-limit, then pass the request to core unchanged."""

    def __init__(
        self,
        guard: Guard,
        limiter: RateLimiter,
        metrics: RateLimitMetrics,
        forwarder: CoreForwarder,
    ) -> None:
        self._guard = guard
        self._limiter = limiter
        self._metrics = metrics
        self._forwarder = forwarder
        self._log_key = defects.active(defects.Defect.LOG_SECRET_BASE64)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if not path.startswith("/v1/"):
            raise ServiceError(ErrorCode.NOT_FOUND, "no such route")
        headers = first_values(scope)
        grant = self._guard.admit(headers, scope)
        if self._log_key:  # defect log_secret_base64: a "client fingerprint" that is the key
            token = headers.get("authorization", "").removeprefix("Bearer ").encode()
            _log.info("client identified", client_fingerprint=base64.b64encode(token).decode())
        _enforce(self._limiter, self._metrics, grant.tenant_id, path)
        body = await Request(scope, receive).body()
        upstream = await self._forwarder.forward(
            scope["method"], _target(scope), body, headers, grant
        )
        response = Response(upstream.body, status_code=upstream.status, headers=upstream.headers)
        await response(scope, receive, send)


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

    # A plain ASGI endpoint, not a FastAPI route: the forwarding path needs no dependency
    # injection or response model. Every /v1/* request but the lever's comes here.
    forwarding = Forwarding(guard, limiter, limit_metrics, forwarder)
    app.router.routes.append(Route("/{path:path}", forwarding, methods=FORWARDED_METHODS))
    return app
