"""HTTP API of the fake WRK Platform.

Runtime fault modes (errors, latency, hangs switched on over an admin endpoint) will plug in as
a dependency in front of these handlers; the handlers themselves stay fault-free.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, Field

from fake_services import routes
from fake_services.observability import (
    ErrorCode,
    ServiceError,
    Telemetry,
    create_service_app,
    current,
    get_logger,
)
from fake_services.platform.store import WorkflowStore

_log = get_logger(__name__)


class CreateWorkflow(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(min_length=1, max_length=200)


class WorkflowCreated(BaseModel):
    workflow_id: str


class WorkflowState(BaseModel):
    workflow_id: str
    status: str


def create_app(telemetry: Telemetry, store: WorkflowStore | None = None) -> FastAPI:
    app = create_service_app(telemetry, routes.PLATFORM_ROUTES, trust_identity_headers=False)
    workflows = store if store is not None else WorkflowStore()
    app.state.workflows = workflows

    @app.post(routes.WORKFLOWS, status_code=201)
    async def create_workflow(body: CreateWorkflow) -> WorkflowCreated:
        ctx = current()
        if ctx is not None:
            ctx.tenant_id = body.tenant_id
        workflow = workflows.create(body.name, body.tenant_id)
        _log.info("workflow created", resource_type="workflow", resource_id=workflow.workflow_id)
        return WorkflowCreated(workflow_id=workflow.workflow_id)

    @app.post(routes.WORKFLOW_DEACTIVATE)
    async def deactivate_workflow(workflow_id: str) -> WorkflowState:
        workflow = workflows.deactivate(workflow_id)
        if workflow is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "workflow not found")
        _log.info("workflow deactivated", resource_type="workflow", resource_id=workflow_id)
        return WorkflowState(workflow_id=workflow_id, status=workflow.status)

    return app
