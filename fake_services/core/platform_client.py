"""Calls to the WRK Platform, each counted, timed and traced (spec §4.3).

Failures become error codes: connection refused/reset → wrk_platform_unavailable (503),
timeout → wrk_platform_timeout (504), an error answer → wrk_platform_error (502).

Every call first asks the `wrk_platform_calls` feature flag. Off, no call is made and the
caller gets `feature_disabled` (409) at once: during a platform outage an operator trades slow
5xx failures for an immediate, clearly named refusal (spec §6.2 mitigation), and the platform
gets no traffic while it recovers. Skipped calls are not counted as platform calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from fake_services import defects
from fake_services.observability import (
    ErrorCode,
    PlatformCallMetrics,
    ServiceError,
    SpanKind,
    Tracer,
    get_logger,
    outgoing_headers,
)
from fake_services.sender import Reply, Sender, UpstreamError, UpstreamTimeoutError

CREATE_WORKFLOW = "create_workflow"
DEACTIVATE_WORKFLOW = "deactivate_workflow"
CALLS = (CREATE_WORKFLOW, DEACTIVATE_WORKFLOW)
IDEMPOTENCY_HEADER = "Idempotency-Key"
# How long a client should wait before trying a switched-off feature again.
FEATURE_DISABLED_RETRY_AFTER_S = 30


def _always_enabled() -> bool:
    return True


_log = get_logger(__name__)


class PlatformClient:
    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        tracer: Tracer,
        metrics: PlatformCallMetrics,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        enabled: Callable[[], bool] = _always_enabled,
    ) -> None:
        self._tracer = tracer
        self._metrics = metrics
        self._enabled = enabled
        self._sender = Sender(base_url, timeout_s, transport, max_connections=100)
        self._untimed = defects.active(defects.Defect.PLATFORM_LATENCY_UNTIMED)
        self._answered_is_success = defects.active(defects.Defect.PLATFORM_ERRORS_SUCCEED)

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def create_workflow(
        self, name: str, tenant_id: str, idempotency_key: str | None = None
    ) -> str:
        """The new workflow's id; with a key, a repeated call returns the same workflow."""
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
        payload = {"name": name, "tenant_id": tenant_id}
        body = await self._call(
            CREATE_WORKFLOW, "POST", "/v1/workflows", payload, headers, required="workflow_id"
        )
        workflow_id: str = body["workflow_id"]
        return workflow_id

    async def deactivate_workflow(self, workflow_id: str) -> None:
        """Idempotent on the platform side: deactivating an inactive workflow succeeds."""
        path = f"/v1/workflows/{quote(workflow_id, safe='')}/deactivate"
        await self._call(DEACTIVATE_WORKFLOW, "POST", path, None, {})

    def _check_enabled(self) -> None:
        if not self._enabled():
            raise ServiceError(
                ErrorCode.FEATURE_DISABLED,
                "calls to the WRK Platform are switched off (feature flag wrk_platform_calls)",
                headers={"Retry-After": str(FEATURE_DISABLED_RETRY_AFTER_S)},
            )

    async def _call(
        self,
        call: str,
        method: str,
        path: str,
        payload: Any,
        headers: dict[str, str],
        *,
        required: str | None = None,
    ) -> dict[str, Any]:
        """The answer's JSON object; an answer without the `required` string field is a failed
        call (counted as one), not a success the caller then refuses."""
        self._check_enabled()
        started = time.perf_counter()
        success = False
        with self._tracer.start_as_current_span(f"platform.{call}", kind=SpanKind.CLIENT):
            try:
                response = await self._send(call, method, path, payload, headers)
                if self._untimed:
                    started = time.perf_counter()
                success = self._answered_is_success
                body = _json_object(call, response)
                if required is not None and not isinstance(body.get(required), str):
                    raise _failure(call, ErrorCode.WRK_PLATFORM_ERROR, f"no {required}")
                success = True
                return body
            finally:
                self._metrics.observe(
                    call, success=success, duration_s=time.perf_counter() - started
                )

    async def _send(
        self, call: str, method: str, path: str, payload: Any, headers: dict[str, str]
    ) -> Reply:
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = {**outgoing_headers(), **headers}
        if payload is not None:
            headers["content-type"] = "application/json"
        try:
            return await self._sender.send(method, path, body, headers)
        except UpstreamTimeoutError as exc:  # an UpstreamError: tested first
            raise _failure(call, ErrorCode.WRK_PLATFORM_TIMEOUT, str(exc)) from exc
        except UpstreamError as exc:
            raise _failure(call, ErrorCode.WRK_PLATFORM_UNAVAILABLE, str(exc)) from exc


def _json_object(call: str, reply: Reply) -> dict[str, Any]:
    if reply.status >= 300:
        raise _failure(call, ErrorCode.WRK_PLATFORM_ERROR, f"status {reply.status}")
    try:
        body = json.loads(reply.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _failure(call, ErrorCode.WRK_PLATFORM_ERROR, "answer is not a JSON object")
    return body


_MESSAGES = {
    ErrorCode.WRK_PLATFORM_TIMEOUT: "the WRK Platform did not answer in time",
    ErrorCode.WRK_PLATFORM_UNAVAILABLE: "the WRK Platform is unreachable",
    ErrorCode.WRK_PLATFORM_ERROR: "the WRK Platform answered with an error",
}


def _failure(call: str, code: ErrorCode, detail: str) -> ServiceError:
    _log.error(
        f"WRK Platform call {call} failed",
        error_code=code,
        platform_call=call,
        detail=detail,
    )
    return ServiceError(code, _MESSAGES[code])
