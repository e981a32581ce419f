"""HTTP-level faults of the workflow API, switched at runtime (PUT /admin/faults).

Toxiproxy breaks the network; these break the application protocol the way a struggling WRK
Platform does: 5xx answers, 429 throttling, a body that trickles in, a body that is not JSON.
A fault hits each workflow request with probability `ratio`, decided once per request;
`delay_ms` adds latency first (for slow_body it is the stall between the headers and the body
instead). The 5xx and 429 answers refuse the request, so nothing is done; a slow or malformed
body spoils the answer in transit, after the work was done.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from fake_services.observability import ErrorCode, error_response

MAX_DELAY_MS = 120_000
JSON = "application/json"


class FaultMode(StrEnum):
    NONE = "none"
    ERROR_5XX = "error_5xx"
    THROTTLE_429 = "throttle_429"
    SLOW_BODY = "slow_body"
    MALFORMED_JSON = "malformed_json"


class FaultConfig(BaseModel):
    mode: FaultMode = FaultMode.NONE
    ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    # validate_default: a slow_body that leaves delay_ms out is refused as well.
    delay_ms: int = Field(default=0, ge=0, le=MAX_DELAY_MS, validate_default=True)
    # The status of an error_5xx answer: real outages answer 502, 503 or 504 as often as 500.
    status: int = Field(default=500, ge=500, le=599)

    @field_validator("delay_ms")
    @classmethod
    def _slow_body_stalls(cls, delay_ms: int, info: ValidationInfo) -> int:
        # Without a stall slow_body would answer normally: a fault that silently does nothing.
        if info.data.get("mode") is FaultMode.SLOW_BODY and delay_ms == 0:
            raise ValueError("slow_body needs delay_ms > 0 (the stall before the body)")
        return delay_ms

    @field_validator("status")
    @classmethod
    def _status_of_5xx_only(cls, status: int, info: ValidationInfo) -> int:
        # Set with another mode it would silently change nothing.
        if status != 500 and info.data.get("mode") is not FaultMode.ERROR_5XX:
            raise ValueError("status applies to error_5xx only")
        return status


@dataclass(frozen=True)
class Answer:
    """What a healthy platform answers."""

    body: BaseModel
    status: int

    def content(self) -> bytes:
        return self.body.model_dump_json().encode()


class FaultInjector:
    def __init__(self) -> None:
        self.config = FaultConfig()

    def _draw(self) -> FaultConfig | None:
        """The fault this request gets, or None; read once, so a request never mixes two."""
        config = self.config
        if config.mode is FaultMode.NONE or random.random() >= config.ratio:
            return None
        return config

    async def serve(self, work: Callable[[], Answer]) -> Response:
        """Runs `work` and gives its answer, or the configured fault instead. A refusing fault
        (5xx, 429) answers before `work` runs: a platform that refuses a request does not act
        on it. A spoiling fault (slow or malformed body) lets the work happen first."""
        fault = self._draw()
        if fault is None:
            answer = work()
            return Response(answer.content(), status_code=answer.status, media_type=JSON)
        if fault.mode is FaultMode.SLOW_BODY:
            answer = work()
            stall_s = fault.delay_ms / 1000
            trickle = _trickle(answer.content(), stall_s)
            return StreamingResponse(trickle, status_code=answer.status, media_type=JSON)
        await asyncio.sleep(fault.delay_ms / 1000)
        refusal = _refusal(fault)
        if refusal is not None:
            return refusal
        answer = work()
        return Response(b'{"workflow_id": ', status_code=answer.status, media_type=JSON)


def _refusal(fault: FaultConfig) -> Response | None:
    if fault.mode is FaultMode.ERROR_5XX:
        return error_response(ErrorCode.INTERNAL_ERROR, "injected fault", fault.status)
    if fault.mode is FaultMode.THROTTLE_429:
        return error_response(
            ErrorCode.RATE_LIMITED, "injected throttling", 429, {"Retry-After": "1"}
        )
    return None


async def _trickle(content: bytes, stall_s: float) -> AsyncIterator[bytes]:
    yield content[:1]
    await asyncio.sleep(stall_s)
    yield content[1:]
