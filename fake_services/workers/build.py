"""Build worker (`build-requests`): turns an automation version into a platform workflow.

Idempotent under redelivery: the workflow is created with the version id as idempotency key
(the platform answers a repeat with the same workflow), and the version's state decides what
is left to do. A version archived while its build was queued gets its fresh workflow
deactivated (spec §7 `archive_remote_deactivation_failed` on failure, then retried).
"""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from fake_services.core import automations, versions
from fake_services.core.platform_client import CALLS, PlatformClient
from fake_services.core.versions import VersionStatus
from fake_services.flags import Flag
from fake_services.observability import (
    CollectorRegistry,
    ErrorCode,
    PlatformCallMetrics,
    ServiceError,
    get_logger,
)
from fake_services.queue import Job, QueueName, job_runs
from fake_services.queue.payloads import BuildVersion, JobKind, NotificationKind, Notify
from fake_services.workers.errors import JobDeferred, PermanentJobError
from fake_services.workers.handler import JobHandler, WorkerContext, payload_of
from fake_services.workers.visibility import committed

_log = get_logger(__name__)

# FOR SHARE waits out a status change still being committed (see workers.visibility).
_LOAD = (
    f"SELECT v.id, v.tenant_id, v.version, v.status, v.workflow_id, a.name"
    f" FROM {versions.TABLE} v JOIN {automations.TABLE} a ON a.id = v.automation_id"
    " WHERE v.id = $1 FOR SHARE OF v"
)
# building → active; a version archived meanwhile keeps its status but records the workflow.
_RECORD = (
    f"UPDATE {versions.TABLE} SET workflow_id = $2, updated_at = now(),"
    " status = CASE WHEN status = 'building' THEN 'active' ELSE status END"
    " WHERE id = $1 RETURNING status"
)
_FAIL = (
    f"UPDATE {versions.TABLE} SET status = 'build_failed', updated_at = now()"
    " WHERE id = $1 AND status = 'building' RETURNING id"
)


class BuildWorker(JobHandler):
    queue = QueueName.BUILD_REQUESTS

    def __init__(
        self, registry: CollectorRegistry, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._platform_metrics = PlatformCallMetrics(registry, known_calls=CALLS)
        self._transport = transport  # tests put the platform in-process

    async def start(self, ctx: WorkerContext) -> None:
        await super().start(ctx)
        assert ctx.settings.platform_url is not None
        self.platform = PlatformClient(
            ctx.settings.platform_url,
            ctx.settings.platform_timeout_s,
            ctx.tracer,
            self._platform_metrics,
            transport=self._transport,
            enabled=lambda: ctx.flags.enabled(Flag.WRK_PLATFORM_CALLS),
        )

    async def stop(self) -> None:
        await self.platform.aclose()

    async def handle(self, job: Job) -> None:
        version_id = payload_of(job, BuildVersion).version_id
        row = await self._load(version_id)
        status = VersionStatus(row["status"])
        workflow_id: str | None = row["workflow_id"]
        if status not in (VersionStatus.BUILDING, VersionStatus.ARCHIVED):
            _log.info("nothing to build", resource_id=str(version_id), status=status)
            return
        if status is VersionStatus.ARCHIVED and workflow_id is None:
            _log.info("version archived before its build", resource_id=str(version_id))
            return
        if workflow_id is None:
            workflow_id = await self._create(row)
        recorded = await self._record(version_id, workflow_id)
        if recorded is VersionStatus.ARCHIVED:
            await self._deactivate(version_id, workflow_id)
        elif recorded is VersionStatus.ACTIVE:
            _log.info(
                "automation version built",
                resource_type="automation_version",
                resource_id=str(version_id),
                workflow_id=workflow_id,
            )
            await self._notify(NotificationKind.BUILD_SUCCEEDED, version_id)

    async def on_dead_letter(self, job: Job) -> None:
        try:
            version_id = payload_of(job, BuildVersion).version_id
        except PermanentJobError:
            return
        async with self.ctx.db.query("update", versions.TABLE) as conn:
            failed = await conn.fetchval(_FAIL, version_id)
        if failed is not None:
            await self._notify(NotificationKind.BUILD_FAILED, version_id)

    async def _load(self, version_id: uuid.UUID) -> asyncpg.Record:
        async def read() -> asyncpg.Record | None:
            async with self.ctx.db.query("select", versions.TABLE) as conn:
                return await conn.fetchrow(_LOAD, version_id)

        row = await committed(read)
        if row is None:
            raise PermanentJobError("the automation version no longer exists")
        return row

    async def _create(self, row: asyncpg.Record) -> str:
        name = f"{row['name']} v{row['version']}"
        try:
            return await self.platform.create_workflow(name, row["tenant_id"], str(row["id"]))
        except ServiceError as exc:
            if exc.code is ErrorCode.FEATURE_DISABLED:
                raise JobDeferred("wrk_platform_calls is off") from None
            raise

    async def _record(self, version_id: uuid.UUID, workflow_id: str) -> VersionStatus:
        async with self.ctx.db.query("update", versions.TABLE) as conn:
            status = await conn.fetchval(_RECORD, version_id, workflow_id)
        return VersionStatus(status)

    async def _deactivate(self, version_id: uuid.UUID, workflow_id: str) -> None:
        try:
            await self.platform.deactivate_workflow(workflow_id)
        except ServiceError as exc:
            if exc.code is ErrorCode.FEATURE_DISABLED:
                raise JobDeferred("wrk_platform_calls is off") from None
            _log.error(
                "archived version: the WRK Platform did not deactivate its workflow",
                error_code=ErrorCode.ARCHIVE_REMOTE_DEACTIVATION_FAILED,
                cause=exc.code,
                resource_type="automation_version",
                resource_id=str(version_id),
                workflow_id=workflow_id,
            )
            raise
        _log.info("workflow of archived version deactivated", resource_id=str(version_id))

    async def _notify(self, kind: NotificationKind, version_id: uuid.UUID) -> None:
        payload = Notify(kind=kind, resource_type="automation_version", resource_id=str(version_id))
        job = await self.ctx.producer.submit(JobKind.NOTIFY, payload)
        # No write to share a transaction with: the row follows the push. Should it fail, the
        # notification is still sent, and its first start writes the row.
        try:
            async with self.ctx.db.query("insert", job_runs.TABLE) as conn:
                await job_runs.queued(conn, [job])
        except ServiceError as exc:
            _log.warning("could not record queued job", error_code=exc.code, queue=job.queue)
