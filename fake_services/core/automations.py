"""Automations: the model and its table."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from fake_services.core.records import Rows, not_found
from fake_services.db import Database

TABLE = "automations"
_COLUMNS = "id, tenant_id, name, status, workflow_id, created_at"


class AutomationStatus(StrEnum):
    DRAFT = "draft"


class Automation(BaseModel):
    id: uuid.UUID
    tenant_id: str
    name: str
    status: str
    workflow_id: str
    created_at: datetime


_ROWS = Rows(Automation)


class AutomationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self, automation_id: uuid.UUID, tenant_id: str, name: str, workflow_id: str
    ) -> Automation:
        async with self._db.query("insert", TABLE) as conn:
            record = await conn.fetchrow(
                f"INSERT INTO {TABLE} (id, tenant_id, name, status, workflow_id)"
                f" VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
                automation_id,
                tenant_id,
                name,
                AutomationStatus.DRAFT.value,
                workflow_id,
            )
        return _ROWS.one(record)

    async def get(self, tenant_id: str, automation_id: uuid.UUID) -> Automation:
        async with self._db.query("select", TABLE) as conn:
            record = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE id = $1 AND tenant_id = $2",
                automation_id,
                tenant_id,
            )
        if record is None:
            raise not_found("automation")
        return _ROWS.one(record)

    async def list_for_tenant(self, tenant_id: str, limit: int) -> list[Automation]:
        async with self._db.query("select", TABLE) as conn:
            records = await conn.fetch(
                f"SELECT {_COLUMNS} FROM {TABLE} WHERE tenant_id = $1"
                " ORDER BY created_at DESC LIMIT $2",
                tenant_id,
                limit,
            )
        return _ROWS.many(records)
