"""The job envelope: what travels through Redis between a producer and a worker.

Besides the payload it carries the correlation of the request that caused it (request_id,
tenant_id, user_id, W3C traceparent) so the worker's logs and spans continue that request, and
`enqueued_at`, from which the async SLIs (enqueue → done) are measured.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from fake_services.observability.context import random_id


def new_job_id() -> str:
    return random_id()


class Job(BaseModel):
    id: str = Field(default_factory=new_job_id)
    queue: str
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)
    request_id: str
    tenant_id: str | None = None
    user_id: str | None = None
    traceparent: str | None = None
    enqueued_at: float = Field(default_factory=time.time)  # unix seconds
    attempts: int = 0  # attempts that failed so far
    last_error_code: str | None = None

    def encode(self) -> str:
        return self.model_dump_json()

    @classmethod
    def decode(cls, raw: bytes | str) -> Job:
        return cls.model_validate_json(raw)
