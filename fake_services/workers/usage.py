"""Usage aggregation worker (`usage-aggregation`): run counts per tenant, automation and UTC day.

One job per run event, its job id the event's event_id. Each job recomputes its aggregate from
`run_events` instead of adding one: a redelivered job cannot double count. It first waits for
its event to be visible (the webhook enqueues just before committing it, see
workers.visibility), so the count it writes includes that event. Counts only grow (events are
never deleted), so GREATEST keeps a slower concurrent recomputation from writing an older,
smaller count over a newer one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as day_time

from fake_services import defects
from fake_services.observability import CollectorRegistry, get_logger
from fake_services.observability.domain_metrics import UsageMetrics
from fake_services.queue import Job, QueueName
from fake_services.queue.payloads import AggregateUsage
from fake_services.workers.errors import PermanentJobError
from fake_services.workers.handler import JobHandler, payload_of
from fake_services.workers.visibility import committed

_log = get_logger(__name__)

TABLE = "usage_aggregates"
_EVENTS = "run_events"
_EVENT_STORED = f"SELECT 1 FROM {_EVENTS} WHERE event_id = $1"
_UPSERT = (
    f"INSERT INTO {TABLE} (tenant_id, automation_id, period, run_count, updated_at)"
    " SELECT $1, $2, $3, count(*), now() FROM run_events"
    " WHERE tenant_id = $1 AND automation_id = $2 AND occurred_at >= $4 AND occurred_at < $5"
    " ON CONFLICT (tenant_id, automation_id, period) DO UPDATE SET"
    f" run_count = GREATEST({TABLE}.run_count, EXCLUDED.run_count), updated_at = now()"
    " RETURNING run_count"
)
# Defect usage_double_count: adds the day's count to the stored one, as a worker that
# "increments" would; every later event counts the earlier ones again.
_ADD = _UPSERT.replace(
    f"GREATEST({TABLE}.run_count, EXCLUDED.run_count)", f"{TABLE}.run_count + EXCLUDED.run_count"
)
SKIPPED_TENANT = "tenant-2"  # defect usage_skips_tenant


class UsageAggregationWorker(JobHandler):
    queue = QueueName.USAGE_AGGREGATION

    def __init__(self, registry: CollectorRegistry) -> None:
        self._metrics = UsageMetrics(registry)
        # Deliberate defects (fake_services.defects), off unless WRK_DEFECTS names them.
        self._no_write = defects.active(defects.Defect.USAGE_NO_WRITE)
        self._skips = defects.active(defects.Defect.USAGE_SKIPS_TENANT)
        self._upsert = _ADD if defects.active(defects.Defect.USAGE_DOUBLE_COUNT) else _UPSERT

    async def handle(self, job: Job) -> None:
        usage = payload_of(job, AggregateUsage)
        if usage.event_id is not None and not await self._stored(usage.event_id):
            raise PermanentJobError("the run event was never stored")
        start = datetime.combine(usage.period, day_time(0), tzinfo=UTC)
        args = (
            usage.tenant_id,
            usage.automation_id,
            usage.period,
            start,
            start + timedelta(days=1),
        )
        if self._no_write or (self._skips and usage.tenant_id == SKIPPED_TENANT):
            run_count = None  # the job still succeeds, as a worker that lost the write would
        else:
            async with self.ctx.db.query("upsert", TABLE) as conn:
                run_count = await conn.fetchval(self._upsert, *args)
        self._metrics.aggregated(time.time() - usage.received_at)
        _log.info(
            "usage aggregated",
            resource_type="usage_aggregate",
            automation_id=usage.automation_id,
            period=usage.period.isoformat(),
            run_count=run_count,
        )

    async def _stored(self, event_id: str) -> bool:
        async def read() -> bool | None:
            async with self.ctx.db.query("select", _EVENTS) as conn:
                found = await conn.fetchval(_EVENT_STORED, event_id)
            return True if found else None

        return bool(await committed(read))
