"""Clients (Admin API): health_status per client, with a tier for ops escalation (spec §5.2)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from fake_services.core.records import TenantTable
from fake_services.core.transitions import Transitions
from fake_services.db import Database

TABLE = "clients"


class HealthStatus(StrEnum):
    HEALTHY = "Healthy"
    AT_RISK = "At Risk"
    CHURN_RISK = "Churn Risk"


class ClientTier(StrEnum):
    STANDARD = "standard"
    TOP = "top"


# Health is an assessment, not a workflow: any status may follow any other.
TRANSITIONS = Transitions("client", {s: frozenset(HealthStatus) for s in HealthStatus})


class Client(BaseModel):
    id: uuid.UUID
    tenant_id: str
    name: str
    tier: ClientTier
    health_status: HealthStatus
    created_at: datetime
    updated_at: datetime


def needs_escalation(client: Client, previous: str) -> bool:
    """A top-tier client that just became Churn Risk: the §5.2 ops escalation."""
    return (
        client.tier is ClientTier.TOP
        and client.health_status is HealthStatus.CHURN_RISK
        and previous != HealthStatus.CHURN_RISK
    )


def clients_table(db: Database) -> TenantTable[Client]:
    columns = ("id", "tenant_id", "name", "tier", "health_status", "created_at", "updated_at")
    return TenantTable(db, TABLE, "client", columns, Client)
