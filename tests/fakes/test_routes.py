"""Route templating: metrics carry templates, never raw paths."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from fake_services.core.api import router as core_router
from fake_services.routes import CORE_ROUTES, PLATFORM_ROUTES, UNMATCHED, RouteTable

TABLE = RouteTable(
    ("/v1/automations", "/v1/automation-versions/{id}", "/v1/automation-versions/{id}/steps/{n}")
)


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


def test_platform_routes() -> None:
    assert PLATFORM_ROUTES.resolve("/v1/workflows/wf_1/deactivate") == (
        "/v1/workflows/{workflow_id}/deactivate"
    )


def test_core_router_serves_exactly_the_shared_templates() -> None:
    served = {route.path for route in core_router.routes if isinstance(route, APIRoute)}
    assert served == set(CORE_ROUTES.templates)
