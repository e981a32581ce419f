"""Tenants (Admin API): the organisations WRK Copilot serves."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel

from fake_services.db import Database
from fake_services.observability import ErrorCode, ServiceError

TABLE = "tenants"
_COLUMNS = "tenant_id, name, created_at"


class Tenant(BaseModel):
    tenant_id: str
    name: str
    created_at: datetime


class TenantRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(self, tenant_id: str, name: str) -> Tenant:
        try:
            async with self._db.query("insert", TABLE) as conn:
                record = await conn.fetchrow(
                    f"INSERT INTO {TABLE} (tenant_id, name) VALUES ($1, $2) RETURNING {_COLUMNS}",
                    tenant_id,
                    name,
                )
        except asyncpg.UniqueViolationError:
            raise ServiceError(ErrorCode.ALREADY_EXISTS, "tenant already exists") from None
        return Tenant.model_validate(dict(record))

    async def list(self, limit: int) -> list[Tenant]:
        async with self._db.query("select", TABLE) as conn:
            records = await conn.fetch(
                f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY created_at DESC LIMIT $1", limit
            )
        return [Tenant.model_validate(dict(r)) for r in records]
