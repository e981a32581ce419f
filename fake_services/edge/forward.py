"""Forwarding to core over one pooled HTTP client.

One AsyncClient for the life of the process: a client per request would pay a TCP handshake on
every call and could not meet the edge's throughput target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
from opentelemetry.trace import SpanKind

from fake_services.edge.settings import ApiKey
from fake_services.observability import (
    ErrorCode,
    ServiceError,
    Telemetry,
    current,
    get_logger,
    outgoing_headers,
)
from fake_services.observability.propagation import TENANT_ID_HEADER, USER_ID_HEADER

_log = get_logger(__name__)

# Client headers core may see; Authorization stays at the edge.
_PASSED_REQUEST_HEADERS = ("content-type", "accept")
_PASSED_RESPONSE_HEADERS = ("content-type", "retry-after")


@dataclass(frozen=True)
class Upstream:
    status: int
    body: bytes
    headers: dict[str, str]


def error_code_of(response: httpx.Response) -> str | None:
    """The error code of core's JSON error body, so the edge's access log can name it."""
    if response.status_code < 400 or "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


class CoreForwarder:
    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        telemetry: Telemetry,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._tracer = telemetry.tracing.tracer
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def forward(
        self, method: str, target: str, body: bytes, headers: dict[str, str], grant: ApiKey
    ) -> Upstream:
        with self._tracer.start_as_current_span("core.forward", kind=SpanKind.CLIENT):
            request_headers = {k: v for k, v in headers.items() if k in _PASSED_REQUEST_HEADERS}
            request_headers |= outgoing_headers()
            request_headers[TENANT_ID_HEADER] = grant.tenant_id
            request_headers[USER_ID_HEADER] = grant.user_id
            response = await self._send(method, target, body, request_headers)
        ctx = current()
        if ctx is not None:
            ctx.error_code = error_code_of(response)
        passed = {k: v for k in _PASSED_RESPONSE_HEADERS if (v := response.headers.get(k))}
        return Upstream(response.status_code, response.content, passed)

    async def _send(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        try:
            return await self._client.request(method, target, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            _log.error(
                "core timed out",
                error_code=ErrorCode.CORE_UNAVAILABLE,
                error_type=type(exc).__name__,
            )
            raise ServiceError(ErrorCode.CORE_UNAVAILABLE, "core did not answer in time") from exc
        except httpx.TransportError as exc:
            _log.error(
                "core unreachable",
                error_code=ErrorCode.CORE_UNAVAILABLE,
                error_type=type(exc).__name__,
            )
            raise ServiceError(ErrorCode.CORE_UNAVAILABLE, "core is unreachable") from exc
