"""Projects (Admin API): delivery projects per tenant, counted by status on dashboards."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from fake_services.core.records import TenantTable
from fake_services.core.transitions import Transitions
from fake_services.db import Database

TABLE = "projects"


class ProjectStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_S = ProjectStatus
TRANSITIONS = Transitions(
    "project",
    {
        _S.PLANNED: frozenset({_S.ACTIVE, _S.CANCELLED}),
        _S.ACTIVE: frozenset({_S.ON_HOLD, _S.COMPLETED, _S.CANCELLED}),
        _S.ON_HOLD: frozenset({_S.ACTIVE, _S.CANCELLED}),
    },
)


class Project(BaseModel):
    id: uuid.UUID
    tenant_id: str
    name: str
    status: ProjectStatus
    created_at: datetime
    updated_at: datetime


def projects_table(db: Database) -> TenantTable[Project]:
    columns = ("id", "tenant_id", "name", "status", "created_at", "updated_at")
    return TenantTable(db, TABLE, "project", columns, Project)
