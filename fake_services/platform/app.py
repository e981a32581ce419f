"""HTTP API of the fake WRK Platform: the workflow API core and the build worker call, and the
admin levers (faults, run events) the harness drives.

Faults are applied inside the handlers (after validation, behind the observability
middleware), so the platform's own metrics and access log show the answers it really gave; the
handlers hand their work to the fault injector, which decides whether it runs at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Header, Response
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
from fake_services.observability.domain_metrics import WebhookDeliveryMetrics
from fake_services.platform.admin import admin_router
from fake_services.platform.faults import Answer, FaultInjector
from fake_services.platform.run_events import RunEventSender
from fake_services.platform.settings import RunEventSettings
from fake_services.platform.store import WorkflowStatus, WorkflowStore

_log = get_logger(__name__)


MAX_IDEMPOTENCY_KEY = 200


class CreateWorkflow(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(min_length=1, max_length=200)


class WorkflowCreated(BaseModel):
    workflow_id: str


class WorkflowState(BaseModel):
    workflow_id: str
    status: WorkflowStatus


def create_app(
    telemetry: Telemetry,
    store: WorkflowStore | None = None,
    run_events: RunEventSettings | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    workflows = store if store is not None else WorkflowStore()
    injector = FaultInjector()
    sender = RunEventSender(
        run_events or RunEventSettings(),
        WebhookDeliveryMetrics(telemetry.registry),
        telemetry.tracing.tracer,
        webhook_transport,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sender.start()
        try:
            yield
        finally:
            await sender.stop()

    app = create_service_app(
        telemetry, routes.PLATFORM_ROUTES, trust_identity_headers=False, lifespan=lifespan
    )
    app.state.workflows = workflows
    app.state.faults = injector
    app.state.sender = sender
    app.include_router(admin_router(injector, sender, workflows))

    @app.post(routes.WORKFLOWS, status_code=201)
    async def create_workflow(
        body: CreateWorkflow,
        idempotency_key: str | None = Header(default=None, max_length=MAX_IDEMPOTENCY_KEY),
    ) -> Response:
        ctx = current()
        if ctx is not None:
            ctx.tenant_id = body.tenant_id

        def create() -> Answer:
            workflow = workflows.create(body.name, body.tenant_id, idempotency_key)
            workflow_id = workflow.workflow_id
            _log.info("workflow created", resource_type="workflow", resource_id=workflow_id)
            return Answer(WorkflowCreated(workflow_id=workflow_id), 201)

        return await injector.serve(create)

    @app.post(routes.WORKFLOW_DEACTIVATE)
    async def deactivate_workflow(workflow_id: str) -> Response:
        def deactivate() -> Answer:
            workflow = workflows.deactivate(workflow_id)
            if workflow is None:
                raise ServiceError(ErrorCode.NOT_FOUND, "workflow not found")
            _log.info("workflow deactivated", resource_type="workflow", resource_id=workflow_id)
            return Answer(WorkflowState(workflow_id=workflow_id, status=workflow.status), 200)

        return await injector.serve(deactivate)

    return app
