"""Quotes (Admin API): draft → sent → signed | rejected, counted by status (spec §4.4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from fake_services.core.records import TenantTable
from fake_services.core.transitions import Transitions
from fake_services.db import Database

TABLE = "quotes"


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    SIGNED = "signed"
    REJECTED = "rejected"


_S = QuoteStatus
# A rejected quote can be reworked; a signed one is final.
TRANSITIONS = Transitions(
    "quote",
    {
        _S.DRAFT: frozenset({_S.SENT}),
        _S.SENT: frozenset({_S.SIGNED, _S.REJECTED}),
        _S.REJECTED: frozenset({_S.DRAFT}),
    },
)


class Quote(BaseModel):
    id: uuid.UUID
    tenant_id: str
    title: str
    amount_cents: int
    status: QuoteStatus
    created_at: datetime
    updated_at: datetime


def quotes_table(db: Database) -> TenantTable[Quote]:
    columns = ("id", "tenant_id", "title", "amount_cents", "status", "created_at", "updated_at")
    return TenantTable(db, TABLE, "quote", columns, Quote)
