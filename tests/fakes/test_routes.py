"""Route templating: metrics carry templates, never raw paths, and every route has one."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from fake_services.core.app import ROUTERS
from fake_services.observability import create_telemetry
from fake_services.platform.app import create_app as create_platform_app
from fake_services.routes import (
    CORE_ROUTES,
    EDGE_ROUTES,
    PLATFORM_ROUTES,
    UNMATCHED,
    WEBHOOK_ROUTES,
    RouteTable,
)
from fake_services.webhook.app import create_app as create_webhook_app
from fake_services.webhook.settings import WebhookSettings

TABLE = RouteTable(
    ("/v1/automations", "/v1/automation-versions/{id}", "/v1/automation-versions/{id}/steps/{n}")
)
PROBES = {"/healthz", "/metrics"}


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/automations", "/v1/automations"),
        ("/v1/automation-versions/42", "/v1/automation-versions/{id}"),
        ("/v1/automation-versions/ab-c/steps/7", "/v1/automation-versions/{id}/steps/{n}"),
        ("/v1/automations/", UNMATCHED),
        ("/v1/automation-versions/", UNMATCHED),
        ("/v1/automation-versions/a/b", UNMATCHED),
        ("/v1/automationsX", UNMATCHED),
        ("/", UNMATCHED),
    ],
)
def test_paths_resolve_to_their_template(path: str, template: str) -> None:
    assert TABLE.resolve(path) == template


@pytest.mark.parametrize(
    ("table", "path", "template"),
    [
        (
            PLATFORM_ROUTES,
            "/v1/workflows/wf_1/deactivate",
            "/v1/workflows/{workflow_id}/deactivate",
        ),
        (PLATFORM_ROUTES, "/admin/run-events/batch", "/admin/run-events/batch"),
        (
            CORE_ROUTES,
            "/v1/admin/feature-flags/wrk_platform_calls",
            "/v1/admin/feature-flags/{flag}",
        ),
        (CORE_ROUTES, "/v1/admin/clients/c1", "/v1/admin/clients/{client_id}"),
        (EDGE_ROUTES, "/v1/admin/rate-limit", "/v1/admin/rate-limit"),
        (EDGE_ROUTES, "/v1/automation-versions/v1", "/v1/automation-versions/{version_id}"),
        (WEBHOOK_ROUTES, "/v1/webhooks/run-events", "/v1/webhooks/run-events"),
    ],
)
def test_service_tables(table: RouteTable, path: str, template: str) -> None:
    assert table.resolve(path) == template


def _paths(routes: Iterable[BaseRoute]) -> set[str]:
    found: set[str] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found.add(route.path)
        included = getattr(route, "original_router", None)  # FastAPI's lazily included router
        if included is not None:
            found |= _paths(included.routes)
    return found


def _served(app: FastAPI) -> set[str]:
    return _paths(app.routes) - PROBES


def test_core_routers_serve_exactly_the_shared_templates() -> None:
    served = _paths(route for router in ROUTERS for route in router.routes)
    assert served == set(CORE_ROUTES.templates)


def test_edge_serves_core_templates_plus_its_lever() -> None:
    assert set(EDGE_ROUTES.templates) == {*CORE_ROUTES.templates, "/v1/admin/rate-limit"}


def test_platform_serves_exactly_its_templates() -> None:
    app = create_platform_app(create_telemetry("platform", PLATFORM_ROUTES))
    assert _served(app) == set(PLATFORM_ROUTES.templates)


def test_webhook_serves_exactly_its_templates() -> None:
    settings = WebhookSettings.from_env(
        {
            "WRK_DATABASE_URL": "postgresql://u@127.0.0.1:1/db",
            "WRK_REDIS_URL": "redis://127.0.0.1:1/0",
            "WRK_WEBHOOK_SECRET": "s" * 16,
        }
    )
    app = create_webhook_app(settings, create_telemetry("webhook", WEBHOOK_ROUTES))
    assert _served(app) == set(WEBHOOK_ROUTES.templates)
