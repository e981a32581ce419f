"""The job payloads: the contract between producers (core, webhook, workers) and workers.

Payloads carry ids, never content: the worker reads what it needs from the database, so no user
data or secret travels through (or lingers in) Redis and dead-letter lists.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel

from fake_services.queue.names import QueueName


class JobKind(StrEnum):
    BUILD_VERSION = "build_version"
    INGEST_VERSION = "ingest_version"
    NOTIFY = "notify"
    AGGREGATE_USAGE = "aggregate_usage"


class BuildVersion(BaseModel):
    version_id: uuid.UUID


class IngestVersion(BaseModel):
    version_id: uuid.UUID


class NotificationKind(StrEnum):
    BUILD_SUCCEEDED = "build_succeeded"
    BUILD_FAILED = "build_failed"
    QUOTE_SIGNED = "quote_signed"
    CLIENT_CHURN_RISK = "client_churn_risk"  # ops escalation, spec §5.2


class Notify(BaseModel):
    kind: NotificationKind
    resource_type: str
    resource_id: str


class AggregateUsage(BaseModel):
    """One job per run event: its job id is the event's event_id (the usage SLI joins on it)."""

    tenant_id: str
    automation_id: str
    period: date
    received_at: float  # unix seconds, first reception of the run event (usage SLI, §3.2)
    event_id: str | None = None  # the event whose storage the worker waits for (None: no wait)


# Which queue each kind travels on.
QUEUE_OF: dict[JobKind, QueueName] = {
    JobKind.BUILD_VERSION: QueueName.BUILD_REQUESTS,
    JobKind.INGEST_VERSION: QueueName.AI_INGESTION,
    JobKind.NOTIFY: QueueName.NOTIFICATIONS,
    JobKind.AGGREGATE_USAGE: QueueName.USAGE_AGGREGATION,
}
