"""The FastAPI app factory every HTTP service starts from.

It installs the observability middleware, `/healthz`, `/metrics`, and the exception handlers
that give every error the same JSON shape: {"error_code", "message", "request_id"}.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from fake_services.observability.context import current
from fake_services.observability.errors import ErrorCode, ServiceError
from fake_services.observability.logs import get_logger
from fake_services.observability.metrics import METRICS_CONTENT_TYPE, exposition
from fake_services.observability.middleware import ObservabilityMiddleware, internal_error_body
from fake_services.observability.responses import error_response
from fake_services.observability.telemetry import Telemetry
from fake_services.routes import RouteTable

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

JSON = "application/json"

_log = get_logger(__name__)

_HTTP_STATUS_CODES: dict[int, ErrorCode] = {
    HTTPStatus.NOT_FOUND: ErrorCode.NOT_FOUND,
    HTTPStatus.METHOD_NOT_ALLOWED: ErrorCode.METHOD_NOT_ALLOWED,
}


def _validation_message(exc: RequestValidationError) -> str:
    # Locations and reasons only: pydantic's `input` would echo the payload into the response.
    problems = [
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
        for err in exc.errors()
    ]
    return "; ".join(problems) or "invalid request"


async def _on_service_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return error_response(exc.code, exc.message, exc.status, exc.headers)


async def _on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        ErrorCode.VALIDATION_FAILED, _validation_message(exc), HTTPStatus.UNPROCESSABLE_ENTITY
    )


async def _on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_STATUS_CODES.get(exc.status_code, ErrorCode.VALIDATION_FAILED)
    if exc.status_code >= 500:
        code = ErrorCode.INTERNAL_ERROR
    return error_response(code, str(exc.detail), exc.status_code)


async def _on_unexpected(_: Request, exc: Exception) -> Response:
    """FastAPI's last-resort 500 is plain text; give it the JSON error shape (the middleware
    outside still logs the exception and counts the 500)."""
    ctx = current()
    if ctx is not None:
        ctx.error_code = ErrorCode.INTERNAL_ERROR
    body = internal_error_body(ctx.request_id if ctx is not None else None)
    return Response(body, status_code=HTTPStatus.INTERNAL_SERVER_ERROR, media_type=JSON)


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


class ServiceApp(FastAPI):
    """FastAPI behind the observability middleware.

    The middleware is outermost rather than a FastAPI user middleware, so it also sees (logs,
    counts, traces) the 500 that FastAPI's own error middleware answers for an unexpected
    exception. Lifespan events go straight to FastAPI.
    """

    def __init__(
        self,
        *,
        telemetry: Telemetry,
        routes: RouteTable,
        trust_identity_headers: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._observed = ObservabilityMiddleware(
            self._framework,
            telemetry=telemetry,
            routes=routes,
            trust_identity_headers=trust_identity_headers,
        )

    async def _framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._observed(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_service_app(
    telemetry: Telemetry,
    routes: RouteTable,
    *,
    trust_identity_headers: bool,
    lifespan: Lifespan | None = None,
) -> ServiceApp:
    app = ServiceApp(
        telemetry=telemetry,
        routes=routes,
        trust_identity_headers=trust_identity_headers,
        title=telemetry.service,
        lifespan=_with_telemetry_shutdown(telemetry, lifespan),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # A redirect would leak the internal base URL through the edge; 404 instead.
        redirect_slashes=False,
    )
    app.state.telemetry = telemetry
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)

    async def metrics() -> Response:
        return Response(exposition(telemetry.registry), media_type=METRICS_CONTENT_TYPE)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    return app


def _with_telemetry_shutdown(telemetry: Telemetry, inner: Lifespan | None) -> Lifespan:
    """Run the service's own lifespan, then flush spans on the way out."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if inner is None:
                _log.info("service ready")
                yield
            else:
                async with inner(app):
                    _log.info("service ready")
                    yield
        finally:
            _log.info("service stopped")
            telemetry.shutdown()

    return lifespan
