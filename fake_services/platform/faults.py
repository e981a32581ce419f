"""HTTP-level faults of the workflow API, switched at runtime (PUT /admin/faults).

Toxiproxy breaks the network; these break the application protocol the way a struggling WRK
Platform does: 5xx answers, 429 throttling, a body that trickles in, a body that is not JSON.
A fault hits each workflow request with probability `ratio`; `delay_ms` adds latency first
(for slow_body it is the stall between the headers and the body instead).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from fake_services.observability import ErrorCode, error_response

MAX_DELAY_MS = 120_000


class FaultMode(StrEnum):
    NONE = "none"
    ERROR_5XX = "error_5xx"
    THROTTLE_429 = "throttle_429"
    SLOW_BODY = "slow_body"
    MALFORMED_JSON = "malformed_json"


class FaultConfig(BaseModel):
    mode: FaultMode = FaultMode.NONE
    ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    delay_ms: int = Field(default=0, ge=0, le=MAX_DELAY_MS)


class FaultInjector:
    def __init__(self) -> None:
        self.config = FaultConfig()

    def _hits(self) -> bool:
        return self.config.mode is not FaultMode.NONE and random.random() < self.config.ratio

    async def respond(self, body: dict[str, Any], status: int) -> Response:
        """The answer a healthy platform would give, or the configured fault instead."""
        if not self._hits():
            return JSONResponse(body, status_code=status)
        mode, delay_s = self.config.mode, self.config.delay_ms / 1000
        if mode is FaultMode.SLOW_BODY:
            return StreamingResponse(
                _trickle(body, delay_s), status_code=status, media_type="application/json"
            )
        await asyncio.sleep(delay_s)
        if mode is FaultMode.ERROR_5XX:
            return error_response(ErrorCode.INTERNAL_ERROR, "injected fault", 500)
        if mode is FaultMode.THROTTLE_429:
            return error_response(
                ErrorCode.RATE_LIMITED, "injected throttling", 429, {"Retry-After": "1"}
            )
        return Response(b'{"workflow_id": ', status_code=status, media_type="application/json")


async def _trickle(body: dict[str, Any], stall_s: float) -> AsyncIterator[bytes]:
    text = JSONResponse(body).body
    yield text[:1]
    await asyncio.sleep(stall_s)
    yield text[1:]
