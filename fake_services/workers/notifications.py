"""Notifications worker (`notifications`): delivers build results, signed quotes and ops
escalations. Delivery is a row in `notifications`, keyed by job id, so a redelivery is a no-op."""

from __future__ import annotations

from fake_services.observability import CollectorRegistry, get_logger
from fake_services.queue import Job, QueueName
from fake_services.queue.payloads import Notify
from fake_services.workers.handler import JobHandler, payload_of

_log = get_logger(__name__)

TABLE = "notifications"


class NotificationsWorker(JobHandler):
    queue = QueueName.NOTIFICATIONS

    def __init__(self, _registry: CollectorRegistry) -> None:
        pass

    async def handle(self, job: Job) -> None:
        notice = payload_of(job, Notify)
        async with self.ctx.db.query("insert", TABLE) as conn:
            sent = await conn.fetchval(
                f"INSERT INTO {TABLE} (job_id, tenant_id, kind, resource_id)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING RETURNING job_id",
                job.id,
                job.tenant_id,
                notice.kind.value,
                notice.resource_id,
            )
        _log.info(
            "notification sent" if sent else "notification already sent",
            notification=notice.kind,
            resource_type=notice.resource_type,
            resource_id=notice.resource_id,
        )
