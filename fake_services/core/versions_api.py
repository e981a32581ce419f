"""Studio API: automation versions (spec §3.1 `/v1/automation-versions/*`).

Creating a version (or asking for a rebuild) enqueues a build job on `build-requests`; the
write returns as soon as the job is queued. A new version's jobs (the build, and its AI
ingestion when that flag is on) go to Redis in one MULTI/EXEC before the row commits: a failure
leaves neither a row nor a job for a row that does not exist. With the `wrk_platform_calls`
flag off the write still succeeds and the job waits in the queue (the build worker defers it):
the Studio keeps accepting work during a platform incident, and the backlog drains once the
flag is back on.
Archiving an active version deactivates its workflow on the platform synchronously; that is
the one Studio write that needs the platform now, so it refuses with 409 feature_disabled.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query
from pydantic import BaseModel

from fake_services import routes
from fake_services.core.services import CoreServices, Limit, Services, TenantId
from fake_services.core.versions import USER_TRANSITIONS, AutomationVersion, VersionStatus
from fake_services.flags import Flag
from fake_services.observability import ErrorCode, ServiceError, get_logger
from fake_services.queue.payloads import BuildVersion, IngestVersion, JobKind
from fake_services.queue.producer import Submission
from fake_services.text import Notes

_log = get_logger(__name__)


class CreateVersion(BaseModel):
    automation_id: uuid.UUID
    notes: Notes = ""
    build: bool = True  # False keeps the version in draft


class ChangeVersionStatus(BaseModel):
    # Users may ask for building or archived; USER_TRANSITIONS refuses the worker's statuses.
    status: VersionStatus


class VersionList(BaseModel):
    items: list[AutomationVersion]


router = APIRouter()


@router.get(routes.AUTOMATION_VERSIONS)
async def list_versions(
    svc: Services,
    tenant: TenantId,
    automation_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Limit = 50,
) -> VersionList:
    return VersionList(items=await svc.versions.list(tenant, automation_id, limit))


@router.post(routes.AUTOMATION_VERSIONS, status_code=201)
async def create_version(body: CreateVersion, svc: Services, tenant: TenantId) -> AutomationVersion:
    async def enqueue(conn: asyncpg.Connection, version: AutomationVersion) -> None:
        jobs = []
        if body.build:
            jobs.append(Submission(JobKind.BUILD_VERSION, BuildVersion(version_id=version.id)))
        if svc.flags.enabled(Flag.AI_INGESTION):
            jobs.append(Submission(JobKind.INGEST_VERSION, IngestVersion(version_id=version.id)))
        if jobs:
            await svc.producer.submit_all(*jobs, conn=conn)

    status = VersionStatus.BUILDING if body.build else VersionStatus.DRAFT
    version = await svc.versions.create(tenant, body.automation_id, body.notes, status, enqueue)
    _log.info(
        "automation version created",
        resource_type="automation_version",
        resource_id=str(version.id),
        automation_id=str(version.automation_id),
        version=version.version,
        status=version.status,
    )
    return version


@router.get(routes.AUTOMATION_VERSION)
async def get_version(version_id: uuid.UUID, svc: Services, tenant: TenantId) -> AutomationVersion:
    return await svc.versions.table.get(tenant, version_id)


@router.patch(routes.AUTOMATION_VERSION)
async def change_version_status(
    version_id: uuid.UUID, body: ChangeVersionStatus, svc: Services, tenant: TenantId
) -> AutomationVersion:
    current = await svc.versions.table.get(tenant, version_id)
    USER_TRANSITIONS.check(current.status, body.status)
    if body.status is VersionStatus.ARCHIVED and current.workflow_id is not None:
        await _deactivate_remote(svc, current)

    async def enqueue_build(conn: asyncpg.Connection, _: str, version: AutomationVersion) -> None:
        if version.status is VersionStatus.BUILDING:
            build = BuildVersion(version_id=version.id)
            await svc.producer.submit(JobKind.BUILD_VERSION, build, conn=conn)

    change = await svc.versions.table.change_status(
        tenant,
        version_id,
        "status",
        body.status,
        check=USER_TRANSITIONS.check,
        after=enqueue_build,
    )
    _log.info(
        "automation version status changed",
        resource_type="automation_version",
        resource_id=str(version_id),
        previous_status=change.previous,
        status=change.row.status,
    )
    return change.row


async def _deactivate_remote(svc: CoreServices, version: AutomationVersion) -> None:
    """Deactivate before archiving: an archived version must not keep running remotely."""
    assert version.workflow_id is not None
    try:
        await svc.platform.deactivate_workflow(version.workflow_id)
    except ServiceError as exc:
        if exc.code is ErrorCode.FEATURE_DISABLED:
            raise
        _log.error(
            "archiving failed: the WRK Platform did not deactivate the workflow",
            error_code=ErrorCode.ARCHIVE_REMOTE_DEACTIVATION_FAILED,
            cause=exc.code,
            resource_type="automation_version",
            resource_id=str(version.id),
            workflow_id=version.workflow_id,
        )
        raise ServiceError(
            ErrorCode.ARCHIVE_REMOTE_DEACTIVATION_FAILED,
            "the workflow could not be deactivated on the WRK Platform; the version is unchanged",
        ) from exc
