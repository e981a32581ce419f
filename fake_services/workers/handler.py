"""The contract between the worker runtime and one queue's business logic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import redis.asyncio as redis
from pydantic import BaseModel, ValidationError

from fake_services.db import Database
from fake_services.flags import FeatureFlags
from fake_services.observability import Tracer
from fake_services.queue import Job, Producer, QueueName
from fake_services.workers.errors import PermanentJobError
from fake_services.workers.settings import WorkerSettings

Payload = TypeVar("Payload", bound=BaseModel)


@dataclass(frozen=True)
class WorkerContext:
    """Resources opened by the worker's lifespan, handed to its handler."""

    settings: WorkerSettings
    db: Database
    redis: redis.Redis
    producer: Producer
    flags: FeatureFlags
    tracer: Tracer


class JobHandler:
    """Subclasses set `queue`, build their metrics in __init__ (once per process) and open
    their own resources in `start`."""

    queue: QueueName

    async def start(self, ctx: WorkerContext) -> None:
        self.ctx = ctx

    async def stop(self) -> None:
        return None

    async def handle(self, job: Job) -> None:
        raise NotImplementedError

    async def on_dead_letter(self, job: Job) -> None:
        """Called once the job is dead-lettered: record the failure where users see it."""
        return None


def payload_of(job: Job, model: type[Payload]) -> Payload:
    try:
        return model.model_validate(job.payload)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "payload" for e in exc.errors()})
        raise PermanentJobError(f"unreadable {job.kind} payload ({', '.join(fields)})") from None
