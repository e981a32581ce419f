"""Forwarding to core over one pooled keep-alive client (fake_services.sender; tests inject an
httpx transport to stand in for core without a socket)."""

from __future__ import annotations

import json

import httpx

from fake_services import defects
from fake_services.edge.settings import ApiKey
from fake_services.observability import (
    ErrorCode,
    ServiceError,
    SpanKind,
    Telemetry,
    current,
    get_logger,
    outgoing_headers,
)
from fake_services.observability.propagation import (
    REQUEST_ID_HEADER,
    TENANT_ID_HEADER,
    USER_ID_HEADER,
)
from fake_services.sender import Reply, Sender, UpstreamError, UpstreamTimeoutError

_log = get_logger(__name__)

# Client headers core may see; Authorization stays at the edge.
_PASSED_REQUEST_HEADERS = ("content-type", "accept")
_PASSED_RESPONSE_HEADERS = ("content-type", "retry-after")
# Requests in flight to core at once; more wait for a connection (within the timeout).
MAX_CONNECTIONS = 200


def error_code_of(status: int, content_type: str, body: bytes) -> str | None:
    """The error code of core's JSON error body, so the edge's access log can name it."""
    if status < 400 or "json" not in content_type:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    code = parsed.get("error_code") if isinstance(parsed, dict) else None
    return code if isinstance(code, str) else None


def _unavailable(log_message: str, message: str, exc: Exception) -> ServiceError:
    _log.error(log_message, error_code=ErrorCode.CORE_UNAVAILABLE, detail=str(exc))
    return ServiceError(ErrorCode.CORE_UNAVAILABLE, message)


class CoreForwarder:
    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        telemetry: Telemetry,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._tracer = telemetry.tracing.tracer
        # Deliberate defects (fake_services.defects), off unless WRK_DEFECTS names them.
        leak = defects.active(defects.Defect.LOG_SECRET)
        self._passed = (
            (*_PASSED_REQUEST_HEADERS, "authorization") if leak else _PASSED_REQUEST_HEADERS
        )
        self._drop_request_id = defects.active(defects.Defect.NO_REQUEST_ID_PROPAGATION)
        self._sender = Sender(base_url, timeout_s, transport, max_connections=MAX_CONNECTIONS)

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def forward(
        self, method: str, target: str, body: bytes, headers: dict[str, str], grant: ApiKey
    ) -> Reply:
        """Core's answer, with only the response headers the client may see."""
        with self._tracer.start_as_current_span("core.forward", kind=SpanKind.CLIENT):
            request_headers = {k: v for k, v in headers.items() if k in self._passed}
            request_headers |= outgoing_headers()
            if self._drop_request_id:
                request_headers.pop(REQUEST_ID_HEADER, None)
            request_headers[TENANT_ID_HEADER] = grant.tenant_id
            request_headers[USER_ID_HEADER] = grant.user_id
            try:
                reply = await self._sender.send(method, target, body, request_headers)
            except UpstreamTimeoutError as exc:  # an UpstreamError: tested first
                raise _unavailable("core timed out", "core did not answer in time", exc) from exc
            except UpstreamError as exc:
                raise _unavailable("core unreachable", "core is unreachable", exc) from exc
        passed = {k: v for k in _PASSED_RESPONSE_HEADERS if (v := reply.headers.get(k))}
        ctx = current()
        if ctx is not None:
            content_type = passed.get("content-type", "")
            ctx.error_code = error_code_of(reply.status, content_type, reply.body)
        return Reply(reply.status, reply.body, passed)
