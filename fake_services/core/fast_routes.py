"""Fast-lane versions of core's hot routes (see observability.fastlane).

Each serves only a request whose parameters are plainly valid (a canonical UUID, a limit
written as a small decimal, the tenant known, a JSON body its model accepts) and answers with
the model its FastAPI route returns, serialised as FastAPI does. A write calls the route's own
function with the validated body. Anything else returns None and takes the FastAPI route, so
validation errors and their messages have one source.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.responses import Response

from fake_services import routes
from fake_services.core import admin_api, api, versions_api
from fake_services.core.admin_api import Items
from fake_services.core.api import AutomationList
from fake_services.core.clients import Client
from fake_services.core.flags_api import list_flags
from fake_services.core.projects import Project
from fake_services.core.quotes import Quote
from fake_services.core.services import CoreServices
from fake_services.core.versions_api import VersionList
from fake_services.observability import ServiceApp
from fake_services.observability.fastlane import FastHandler, FastRequest, json_response

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50

# Parametrised once: pydantic's generic lookup per request is not free.
QuoteItems = Items[Quote]
ProjectItems = Items[Project]
ClientItems = Items[Client]

Lister = Callable[[CoreServices, str, int], Awaitable[BaseModel]]
Getter = Callable[[CoreServices, str, uuid.UUID], Awaitable[BaseModel]]
# A FastAPI write route, called with its parameters by name: body, svc, tenant (and the id).
Endpoint = Callable[..., Awaitable[BaseModel]]


def _render(model: BaseModel, status: int = 200) -> Response:
    # What FastAPI does with a route's return value: dump_json by alias, as application/json.
    return json_response(model.__pydantic_serializer__.to_json(model, by_alias=True), status)


def _limit(query: dict[str, str]) -> int | None:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if _LIMIT.fullmatch(raw) is None or int(raw) > MAX_LIMIT:
        return None
    return int(raw)


def _uuid(raw: str | None) -> uuid.UUID | None:
    return uuid.UUID(raw) if raw is not None and _UUID.fullmatch(raw) else None


class CoreFastRoutes:
    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def _services(self) -> CoreServices:
        services: CoreServices = self._app.state.services
        return services

    def listing(self, lister: Lister) -> FastHandler:
        async def handle(request: FastRequest) -> Response | None:
            query = request.query()
            tenant = request.ctx.tenant_id
            limit = _limit(query) if query is not None else None
            if limit is None or not tenant:
                return None
            return _render(await lister(self._services(), tenant, limit))

        return handle

    def lookup(self, param: str, getter: Getter) -> FastHandler:
        async def handle(request: FastRequest) -> Response | None:
            row_id = _uuid(request.path_param(param))
            tenant = request.ctx.tenant_id
            if row_id is None or not tenant:
                return None
            return _render(await getter(self._services(), tenant, row_id))

        return handle

    async def versions(self, request: FastRequest) -> Response | None:
        query = request.query()
        tenant = request.ctx.tenant_id
        if query is None or not tenant:
            return None
        limit = _limit(query)
        raw_automation = query.get("automation_id")
        automation_id = _uuid(raw_automation)
        if limit is None or (raw_automation is not None and automation_id is None):
            return None
        items = await self._services().versions.list(tenant, automation_id, limit)
        return _render(VersionList(items=items))

    async def flags(self, _: FastRequest) -> Response:
        return _render(await list_flags(self._services()))

    def write(
        self, model: type[BaseModel], endpoint: Endpoint, *, param: str | None = None
    ) -> FastHandler:
        """POST (201) or PATCH (200, on the row named by `param`) through the route's function."""
        status = 200 if param is not None else 201

        async def handle(request: FastRequest) -> Response | None:
            tenant = request.ctx.tenant_id
            row_id = _uuid(request.path_param(param)) if param is not None else None
            if not tenant or (param is not None and row_id is None):
                return None
            body = await request.json_model(model)
            if body is None:
                return None
            kwargs: dict[str, Any] = {"body": body, "svc": self._services(), "tenant": tenant}
            if param is not None:
                kwargs[param] = row_id
            return _render(await endpoint(**kwargs), status)

        return handle


async def _automations(svc: CoreServices, tenant: str, limit: int) -> BaseModel:
    return AutomationList(items=await svc.automations.list_for_tenant(tenant, limit))


async def _quotes(svc: CoreServices, tenant: str, limit: int) -> BaseModel:
    return QuoteItems(items=await svc.quotes.list(tenant, limit))


async def _projects(svc: CoreServices, tenant: str, limit: int) -> BaseModel:
    return ProjectItems(items=await svc.projects.list(tenant, limit))


async def _clients(svc: CoreServices, tenant: str, limit: int) -> BaseModel:
    return ClientItems(items=await svc.clients.list(tenant, limit))


async def _automation(svc: CoreServices, tenant: str, row_id: uuid.UUID) -> BaseModel:
    return await svc.automations.get(tenant, row_id)


async def _version(svc: CoreServices, tenant: str, row_id: uuid.UUID) -> BaseModel:
    return await svc.versions.table.get(tenant, row_id)


async def _quote(svc: CoreServices, tenant: str, row_id: uuid.UUID) -> BaseModel:
    return await svc.quotes.get(tenant, row_id)


async def _project(svc: CoreServices, tenant: str, row_id: uuid.UUID) -> BaseModel:
    return await svc.projects.get(tenant, row_id)


async def _client(svc: CoreServices, tenant: str, row_id: uuid.UUID) -> BaseModel:
    return await svc.clients.get(tenant, row_id)


def install(app: ServiceApp) -> None:
    """Register the fast reads; the FastAPI routes stay for every other request."""
    fast = CoreFastRoutes(app)
    get = ("GET",)
    app.add_fast_route(get, [routes.AUTOMATIONS], fast.listing(_automations))
    app.add_fast_route(get, [routes.ADMIN_QUOTES], fast.listing(_quotes))
    app.add_fast_route(get, [routes.ADMIN_PROJECTS], fast.listing(_projects))
    app.add_fast_route(get, [routes.ADMIN_CLIENTS], fast.listing(_clients))
    app.add_fast_route(get, [routes.AUTOMATION], fast.lookup("automation_id", _automation))
    app.add_fast_route(get, [routes.AUTOMATION_VERSION], fast.lookup("version_id", _version))
    app.add_fast_route(get, [routes.ADMIN_QUOTE], fast.lookup("quote_id", _quote))
    app.add_fast_route(get, [routes.ADMIN_PROJECT], fast.lookup("project_id", _project))
    app.add_fast_route(get, [routes.ADMIN_CLIENT], fast.lookup("client_id", _client))
    app.add_fast_route(get, [routes.AUTOMATION_VERSIONS], fast.versions)
    app.add_fast_route(get, [routes.ADMIN_FEATURE_FLAGS], fast.flags)
    post, patch = ("POST",), ("PATCH",)
    app.add_fast_route(
        post, [routes.AUTOMATIONS], fast.write(api.CreateAutomation, api.create_automation)
    )
    app.add_fast_route(
        post,
        [routes.AUTOMATION_VERSIONS],
        fast.write(versions_api.CreateVersion, versions_api.create_version),
    )
    app.add_fast_route(
        post, [routes.ADMIN_QUOTES], fast.write(admin_api.CreateQuote, admin_api.create_quote)
    )
    app.add_fast_route(
        post, [routes.ADMIN_CLIENTS], fast.write(admin_api.CreateClient, admin_api.create_client)
    )
    app.add_fast_route(
        patch,
        [routes.ADMIN_CLIENT],
        fast.write(admin_api.ChangeClient, admin_api.change_client, param="client_id"),
    )
    app.add_fast_route(
        patch,
        [routes.ADMIN_QUOTE],
        fast.write(admin_api.ChangeQuote, admin_api.change_quote, param="quote_id"),
    )
