"""Admin API (`/v1/admin/*`): tenants, projects, quotes and clients.

Status changes lock the row (`SELECT ... FOR UPDATE`, timed as db_lock_wait_time_seconds),
check the transition and write in one transaction. Events another team acts on (a signed quote,
a top-tier client turning Churn Risk) enqueue a notification inside that same transaction.
"""

from __future__ import annotations

import uuid
from typing import Generic, TypeVar

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictInt

from fake_services import routes
from fake_services.core import clients, projects, quotes
from fake_services.core.clients import Client, ClientTier, HealthStatus
from fake_services.core.projects import Project, ProjectStatus
from fake_services.core.quotes import Quote, QuoteStatus
from fake_services.core.services import CoreServices, Limit, Services, TenantId
from fake_services.core.tenants import Tenant
from fake_services.observability import get_logger
from fake_services.queue.payloads import JobKind, NotificationKind, Notify
from fake_services.text import Identifier, Name

_log = get_logger(__name__)

MAX_AMOUNT_CENTS = 10**12

T = TypeVar("T")

router = APIRouter()


class Items(BaseModel, Generic[T]):
    items: list[T]


class CreateTenant(BaseModel):
    tenant_id: Identifier
    name: Name


class CreateProject(BaseModel):
    name: Name
    status: ProjectStatus = ProjectStatus.PLANNED


class ChangeProject(BaseModel):
    status: ProjectStatus


class CreateQuote(BaseModel):
    title: Name
    amount_cents: StrictInt = Field(ge=0, le=MAX_AMOUNT_CENTS)


class ChangeQuote(BaseModel):
    status: QuoteStatus


class CreateClient(BaseModel):
    name: Name
    tier: ClientTier = ClientTier.STANDARD
    health_status: HealthStatus = HealthStatus.HEALTHY


class ChangeClient(BaseModel):
    health_status: HealthStatus


async def _notify(
    svc: CoreServices,
    conn: asyncpg.Connection,
    kind: NotificationKind,
    resource: str,
    row_id: uuid.UUID,
) -> None:
    payload = Notify(kind=kind, resource_type=resource, resource_id=str(row_id))
    await svc.producer.submit(JobKind.NOTIFY, payload, conn=conn)


# Tenants ---------------------------------------------------------------------------------------


@router.get(routes.ADMIN_TENANTS)
async def list_tenants(svc: Services, limit: Limit = 50) -> Items[Tenant]:
    return Items[Tenant](items=await svc.tenants.list(limit))


@router.post(routes.ADMIN_TENANTS, status_code=201)
async def create_tenant(body: CreateTenant, svc: Services) -> Tenant:
    tenant = await svc.tenants.insert(body.tenant_id, body.name)
    _log.info("tenant created", resource_type="tenant", resource_id=tenant.tenant_id)
    return tenant


# Projects --------------------------------------------------------------------------------------


@router.get(routes.ADMIN_PROJECTS)
async def list_projects(svc: Services, tenant: TenantId, limit: Limit = 50) -> Items[Project]:
    return Items[Project](items=await svc.projects.list(tenant, limit))


@router.post(routes.ADMIN_PROJECTS, status_code=201)
async def create_project(body: CreateProject, svc: Services, tenant: TenantId) -> Project:
    values = {"id": uuid.uuid4(), "tenant_id": tenant, "name": body.name, "status": body.status}
    project = await svc.projects.insert(values)
    _log.info("project created", resource_type="project", resource_id=str(project.id))
    return project


@router.get(routes.ADMIN_PROJECT)
async def get_project(project_id: uuid.UUID, svc: Services, tenant: TenantId) -> Project:
    return await svc.projects.get(tenant, project_id)


@router.patch(routes.ADMIN_PROJECT)
async def change_project(
    project_id: uuid.UUID, body: ChangeProject, svc: Services, tenant: TenantId
) -> Project:
    change = await svc.projects.change_status(
        tenant, project_id, "status", body.status, check=projects.TRANSITIONS.check
    )
    _log.info(
        "project status changed",
        resource_type="project",
        resource_id=str(project_id),
        previous_status=change.previous,
        status=change.row.status,
    )
    return change.row


# Quotes ----------------------------------------------------------------------------------------


@router.get(routes.ADMIN_QUOTES)
async def list_quotes(svc: Services, tenant: TenantId, limit: Limit = 50) -> Items[Quote]:
    return Items[Quote](items=await svc.quotes.list(tenant, limit))


@router.post(routes.ADMIN_QUOTES, status_code=201)
async def create_quote(body: CreateQuote, svc: Services, tenant: TenantId) -> Quote:
    values = {
        "id": uuid.uuid4(),
        "tenant_id": tenant,
        "title": body.title,
        "amount_cents": body.amount_cents,
        "status": QuoteStatus.DRAFT.value,
    }
    quote = await svc.quotes.insert(values)
    _log.info("quote created", resource_type="quote", resource_id=str(quote.id))
    return quote


@router.get(routes.ADMIN_QUOTE)
async def get_quote(quote_id: uuid.UUID, svc: Services, tenant: TenantId) -> Quote:
    return await svc.quotes.get(tenant, quote_id)


@router.patch(routes.ADMIN_QUOTE)
async def change_quote(
    quote_id: uuid.UUID, body: ChangeQuote, svc: Services, tenant: TenantId
) -> Quote:
    async def notify_if_signed(conn: asyncpg.Connection, _: str, quote: Quote) -> None:
        if quote.status is QuoteStatus.SIGNED:
            await _notify(svc, conn, NotificationKind.QUOTE_SIGNED, "quote", quote.id)

    change = await svc.quotes.change_status(
        tenant,
        quote_id,
        "status",
        body.status,
        check=quotes.TRANSITIONS.check,
        after=notify_if_signed,
    )
    _log.info(
        "quote status changed",
        resource_type="quote",
        resource_id=str(quote_id),
        previous_status=change.previous,
        status=change.row.status,
    )
    return change.row


# Clients ---------------------------------------------------------------------------------------


@router.get(routes.ADMIN_CLIENTS)
async def list_clients(svc: Services, tenant: TenantId, limit: Limit = 50) -> Items[Client]:
    return Items[Client](items=await svc.clients.list(tenant, limit))


@router.post(routes.ADMIN_CLIENTS, status_code=201)
async def create_client(body: CreateClient, svc: Services, tenant: TenantId) -> Client:
    values = {
        "id": uuid.uuid4(),
        "tenant_id": tenant,
        "name": body.name,
        "tier": body.tier.value,
        "health_status": body.health_status.value,
    }
    client = await svc.clients.insert(values)
    _log.info("client created", resource_type="client", resource_id=str(client.id))
    return client


@router.get(routes.ADMIN_CLIENT)
async def get_client(client_id: uuid.UUID, svc: Services, tenant: TenantId) -> Client:
    return await svc.clients.get(tenant, client_id)


@router.patch(routes.ADMIN_CLIENT)
async def change_client(
    client_id: uuid.UUID, body: ChangeClient, svc: Services, tenant: TenantId
) -> Client:
    async def escalate(conn: asyncpg.Connection, previous: str, client: Client) -> None:
        if clients.needs_escalation(client, previous):
            await _notify(svc, conn, NotificationKind.CLIENT_CHURN_RISK, "client", client.id)

    change = await svc.clients.change_status(
        tenant,
        client_id,
        "health_status",
        body.health_status,
        check=clients.TRANSITIONS.check,
        after=escalate,
    )
    client = change.row
    if change.previous != client.health_status:
        svc.client_health.changed(client.health_status, client.tier)
    if clients.needs_escalation(client, change.previous):
        # The §5.2 ops escalation; an alert fires on client_health_changes_total as well.
        _log.warning(
            "top-tier client changed to Churn Risk: ops escalation",
            resource_type="client",
            resource_id=str(client_id),
            previous_status=change.previous,
            health_status=client.health_status,
            tier=client.tier,
        )
    else:
        _log.info(
            "client health changed",
            resource_type="client",
            resource_id=str(client_id),
            previous_status=change.previous,
            health_status=client.health_status,
        )
    return client
