"""The JSON error response every service gives: {"error_code", "message", "request_id"}."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import JSONResponse

from fake_services.observability.context import current
from fake_services.observability.errors import ErrorCode, error_body


def error_response(
    code: ErrorCode, message: str, status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error response that also tells the access log which error code it carried."""
    ctx = current()
    if ctx is not None:
        ctx.error_code = code
    request_id = ctx.request_id if ctx is not None else None
    return JSONResponse(
        error_body(code, message, request_id), status_code=status, headers=headers or None
    )
