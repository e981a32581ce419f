"""Automation versions: created by the Studio API, built into platform workflows by a worker.

    draft ──► building ──► active ──► archived
      │          │ └─► build_failed ─┘ (retry: back to building)
      └──────────┴────────────────────► archived

Users move draft/build_failed → building (enqueues a build) and anything → archived. Only the
build worker moves building → active | build_failed (fake_services.workers.build).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum

import asyncpg
from pydantic import BaseModel

from fake_services.core import automations
from fake_services.core.records import TenantTable, not_found
from fake_services.core.transitions import Transitions
from fake_services.db import Database

TABLE = "automation_versions"
COLUMNS = (
    "id", "automation_id", "tenant_id", "version", "status", "notes", "workflow_id",
    "created_at", "updated_at",
)  # fmt: skip


class VersionStatus(StrEnum):
    DRAFT = "draft"
    BUILDING = "building"
    ACTIVE = "active"
    BUILD_FAILED = "build_failed"
    ARCHIVED = "archived"


_S = VersionStatus
USER_TRANSITIONS = Transitions(
    "automation version",
    {
        _S.DRAFT: frozenset({_S.BUILDING, _S.ARCHIVED}),
        _S.BUILDING: frozenset({_S.ARCHIVED}),
        _S.BUILD_FAILED: frozenset({_S.BUILDING, _S.ARCHIVED}),
        _S.ACTIVE: frozenset({_S.ARCHIVED}),
    },
)
ALL_STATUSES = tuple(VersionStatus)


class AutomationVersion(BaseModel):
    id: uuid.UUID
    automation_id: uuid.UUID
    tenant_id: str
    version: int
    status: VersionStatus
    notes: str
    workflow_id: str | None
    created_at: datetime
    updated_at: datetime


# Runs in the insert's transaction, on its connection.
AfterInsert = Callable[[asyncpg.Connection, AutomationVersion], Awaitable[None]]


class VersionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.table = TenantTable(db, TABLE, "automation version", COLUMNS, AutomationVersion)

    async def create(
        self,
        tenant_id: str,
        automation_id: uuid.UUID,
        notes: str,
        status: VersionStatus,
        after_insert: AfterInsert,
    ) -> AutomationVersion:
        """Number the version under a lock on its automation (two creates never collide), and
        run `after_insert` (the enqueue) before commit so a failed enqueue leaves no row."""
        async with self._db.query("insert", TABLE) as conn, conn.transaction():
            parent = await self._db.lock_row(
                conn,
                automations.TABLE,
                f"SELECT id FROM {automations.TABLE} WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
                automation_id,
                tenant_id,
            )
            if parent is None:
                raise not_found("automation")
            record = await conn.fetchrow(
                f"INSERT INTO {TABLE} (id, automation_id, tenant_id, version, status, notes)"
                " SELECT $1, $2, $3, coalesce(max(version), 0) + 1, $4, $5"
                f" FROM {TABLE} WHERE automation_id = $2 RETURNING {', '.join(COLUMNS)}",
                uuid.uuid4(),
                automation_id,
                tenant_id,
                status.value,
                notes,
            )
            version = self.table.rows.one(record)
            await after_insert(conn, version)
        return version

    async def list(
        self, tenant_id: str, automation_id: uuid.UUID | None, limit: int
    ) -> list[AutomationVersion]:
        if automation_id is None:
            return await self.table.list(tenant_id, limit)
        async with self._db.query("select", TABLE) as conn:
            records = await conn.fetch(
                f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"
                " WHERE tenant_id = $1 AND automation_id = $2 ORDER BY version DESC LIMIT $3",
                tenant_id,
                automation_id,
                limit,
            )
        return self.table.rows.many(records)
