"""Edge HTTP app: every /v1/* request is authenticated, authorised and forwarded to core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response

from fake_services.edge.auth import authenticate, authorize
from fake_services.edge.forward import CoreForwarder
from fake_services.edge.settings import EdgeSettings
from fake_services.observability import (
    ErrorCode,
    ServiceError,
    Telemetry,
    create_service_app,
    current,
)
from fake_services.routes import CORE_ROUTES

FORWARDED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _target(request: Request) -> str:
    """Path and query exactly as the client sent them (still percent-encoded)."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def create_app(
    settings: EdgeSettings,
    telemetry: Telemetry,
    core_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    forwarder = CoreForwarder(
        settings.core_url, settings.core_timeout_s, telemetry, transport=core_transport
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await forwarder.aclose()

    # Labelled with core's route templates: the edge's metrics describe the API it fronts.
    app = create_service_app(
        telemetry, CORE_ROUTES, trust_identity_headers=False, lifespan=lifespan
    )

    async def forward(request: Request) -> Response:
        path = request.url.path
        if not path.startswith("/v1/"):
            raise ServiceError(ErrorCode.NOT_FOUND, "no such route")
        grant = authenticate(request.headers.get("authorization"), settings.api_keys)
        ctx = current()
        if ctx is not None:
            ctx.tenant_id, ctx.user_id = grant.tenant_id, grant.user_id
        authorize(grant, path)
        upstream = await forwarder.forward(
            request.method, _target(request), await request.body(), dict(request.headers), grant
        )
        return Response(upstream.body, status_code=upstream.status, headers=upstream.headers)

    app.add_api_route("/{path:path}", forward, methods=FORWARDED_METHODS, include_in_schema=False)
    return app
