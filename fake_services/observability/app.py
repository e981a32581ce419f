"""The FastAPI app factory every HTTP service starts from.

It installs the observability middleware, `/healthz`, `/metrics`, and the exception handlers
that give every error the same JSON shape: {"error_code", "message", "request_id"}.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fake_services.observability import context
from fake_services.observability.errors import ErrorCode, ServiceError, error_body
from fake_services.observability.logs import get_logger
from fake_services.observability.metrics import METRICS_CONTENT_TYPE, exposition
from fake_services.observability.middleware import ObservabilityMiddleware
from fake_services.observability.telemetry import Telemetry
from fake_services.routes import RouteTable

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

_log = get_logger(__name__)

_HTTP_STATUS_CODES = {
    HTTPStatus.NOT_FOUND: ErrorCode.NOT_FOUND,
    HTTPStatus.METHOD_NOT_ALLOWED: ErrorCode.METHOD_NOT_ALLOWED,
}


def error_response(
    code: ErrorCode, message: str, status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error response that also tells the access log which error code it carried."""
    ctx = context.current()
    if ctx is not None:
        ctx.error_code = code
    request_id = ctx.request_id if ctx is not None else None
    return JSONResponse(
        error_body(code, message, request_id), status_code=status, headers=headers or None
    )


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


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_service_app(
    telemetry: Telemetry,
    routes: RouteTable,
    *,
    trust_identity_headers: bool,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    app = FastAPI(
        title=telemetry.service,
        lifespan=_with_telemetry_shutdown(telemetry, lifespan),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # A redirect would leak the internal base URL through the edge; 404 instead.
        redirect_slashes=False,
    )
    app.state.telemetry = telemetry
    app.add_middleware(
        ObservabilityMiddleware,
        telemetry=telemetry,
        routes=routes,
        trust_identity_headers=trust_identity_headers,
    )
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
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
