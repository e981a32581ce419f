"""Run events: the payload schema and their storage, exactly once per event_id."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from fake_services.db import Database
from fake_services.text import Identifier

TABLE = "run_events"

# Outside this range a timestamp is garbage, and near the ends of datetime it cannot even be
# converted to UTC: refuse it as malformed rather than fail in the driver.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class RunStatus(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RunEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_id: Identifier
    tenant_id: Identifier
    automation_id: Identifier
    status: RunStatus
    occurred_at: AwareDatetime

    @field_validator("occurred_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not _EARLIEST <= value <= _LATEST:
            raise ValueError("occurred_at must be between 2000 and 2100")
        return value


# Runs in the insert's transaction, on its connection.
AfterStore = Callable[[asyncpg.Connection, RunEvent], Awaitable[None]]


class RunEventStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def store(
        self, event: RunEvent, received_at: float, request_id: str, after_store: AfterStore
    ) -> float | None:
        """Insert the event and run `after_store` (the usage enqueue) before commit.

        Returns the unix time it was stored, or None when the event_id was already stored (a
        redelivery): then nothing is written and nothing is enqueued.
        """
        async with self._db.query("insert", TABLE) as conn, conn.transaction():
            stored = await conn.fetchval(
                f"INSERT INTO {TABLE} (event_id, tenant_id, automation_id, status, occurred_at,"
                " received_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT (event_id) DO NOTHING RETURNING stored_at",
                event.event_id,
                event.tenant_id,
                event.automation_id,
                event.status.value,
                event.occurred_at,
                datetime.fromtimestamp(received_at, UTC),
                request_id,
            )
            if stored is None:
                return None
            await after_store(conn, event)
        return time.time()
