"""Studio API: automations. Identity comes from the edge (X-Tenant-ID / X-User-ID)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from fake_services import routes
from fake_services.core.automations import Automation
from fake_services.core.services import Limit, Services, TenantId
from fake_services.observability import get_logger
from fake_services.text import Name

_log = get_logger(__name__)


class CreateAutomation(BaseModel):
    name: Name


class AutomationList(BaseModel):
    items: list[Automation]


router = APIRouter()


@router.get(routes.AUTOMATIONS)
async def list_automations(svc: Services, tenant: TenantId, limit: Limit = 50) -> AutomationList:
    return AutomationList(items=await svc.automations.list_for_tenant(tenant, limit))


@router.post(routes.AUTOMATIONS, status_code=201)
async def create_automation(body: CreateAutomation, svc: Services, tenant: TenantId) -> Automation:
    # The platform first: a row must never point at a workflow that does not exist.
    # The id, chosen before the call, is its idempotency key: unique to this attempt, so the
    # platform answers a resend with the same workflow, not a second, orphaned one. (A request
    # id would not do: clients choose it, and the platform's keys are not scoped by tenant.)
    automation_id = uuid.uuid4()
    workflow_id = await svc.platform.create_workflow(body.name, tenant, str(automation_id))
    automation = await svc.automations.insert(automation_id, tenant, body.name, workflow_id)
    _log.info(
        "automation created",
        resource_type="automation",
        resource_id=str(automation.id),
        workflow_id=workflow_id,
    )
    return automation


@router.get(routes.AUTOMATION)
async def get_automation(automation_id: uuid.UUID, svc: Services, tenant: TenantId) -> Automation:
    return await svc.automations.get(tenant, automation_id)
