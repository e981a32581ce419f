"""One pure-ASGI middleware for request context, tracing, HTTP metrics and the access log.

Pure ASGI (not BaseHTTPMiddleware) because it sits on the hot path of every request and must
stay cheap: no extra task, no body buffering. It also turns any unexpected exception into a JSON
500, so no stack trace ever escapes to the server's own, unredacted, logger.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fake_services.observability.context import RequestContext, accept_request_id, bound
from fake_services.observability.errors import ErrorCode, error_body
from fake_services.observability.logs import get_logger
from fake_services.observability.telemetry import Telemetry
from fake_services.observability.tracing import extract
from fake_services.routes import RouteTable

# Probes and scrapes are not traffic: they are neither counted, traced nor access-logged.
UNOBSERVED_PATHS = frozenset({"/healthz", "/metrics"})

_log = get_logger("fake_services.access")


@dataclass
class _Exchange:
    status: int = 500
    started: bool = False


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


def internal_error_body(request_id: str | None) -> bytes:
    return json.dumps(error_body(ErrorCode.INTERNAL_ERROR, "internal error", request_id)).encode()


def _access_level(status: int) -> int:
    if status >= 500:
        return logging.ERROR
    if status >= 400:
        return logging.WARNING
    return logging.INFO


class ObservabilityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        telemetry: Telemetry,
        routes: RouteTable,
        trust_identity_headers: bool,
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.routes = routes
        # Only services behind the edge may believe X-Tenant-ID / X-User-ID; the edge derives
        # identity from the API key and must ignore whatever a client claims.
        self.trust_identity_headers = trust_identity_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNOBSERVED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        ctx = self._new_context(scope, headers)
        method = scope["method"]
        with (
            bound(ctx),
            self.telemetry.tracing.tracer.start_as_current_span(
                f"{method} {ctx.route}",
                context=extract(headers),
                kind=SpanKind.SERVER,
                attributes={"http.method": method, "http.route": ctx.route or ""},
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
        ):
            ctx.trace_id = trace.format_trace_id(span.get_span_context().trace_id)
            span.set_attribute("request_id", ctx.request_id)
            await self._handle(scope, receive, send, ctx, span)

    def _new_context(self, scope: Scope, headers: dict[str, str]) -> RequestContext:
        ctx = RequestContext(
            request_id=accept_request_id(headers.get("x-request-id")),
            route=self.routes.resolve(scope["path"]),
        )
        if self.trust_identity_headers:
            ctx.tenant_id = headers.get("x-tenant-id") or None
            ctx.user_id = headers.get("x-user-id") or None
        return ctx

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, ctx: RequestContext, span: trace.Span
    ) -> None:
        exchange = _Exchange()
        request_id_header = (b"x-request-id", ctx.request_id.encode("ascii"))

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.started = True
                message["headers"] = [*message.get("headers", []), request_id_header]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            await self._fail(exchange, ctx, send_with_request_id)
        finally:
            self._record(scope["method"], ctx, exchange.status, time.perf_counter() - started)
            span.set_attribute("http.status_code", exchange.status)
            if exchange.status >= 500:
                span.set_status(Status(StatusCode.ERROR))

    async def _fail(self, exchange: _Exchange, ctx: RequestContext, send: Send) -> None:
        ctx.error_code = ErrorCode.INTERNAL_ERROR
        _log.exception("unhandled exception", error_code=ErrorCode.INTERNAL_ERROR)
        exchange.status = 500
        if exchange.started:
            return  # Too late for a clean response; the client sees a truncated body.
        body = internal_error_body(ctx.request_id)
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, method: str, ctx: RequestContext, status: int, duration_s: float) -> None:
        route = ctx.route or "unmatched"
        self.telemetry.http.observe(route, method, status, duration_s)
        _log.log(
            _access_level(status),
            "request completed",
            method=method,
            status=status,
            duration_ms=round(duration_s * 1000, 3),
            error_code=ctx.error_code,
        )
