"""Core's fast lane answers exactly as its FastAPI routes do, and leaves them every odd request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from fake_services.observability import ServiceApp

from .conftest import CapturedLogs

TENANT = {"X-Tenant-ID": "t1", "X-User-ID": "u1"}


class FallbackSpy:
    """Stands between the fast lane and FastAPI, recording the paths that reached FastAPI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def spy(core: TestClient) -> FallbackSpy:
    app = core.app
    assert isinstance(app, ServiceApp)
    fallback_spy = FallbackSpy(app.fast_lane.fallback)
    app.fast_lane.fallback = fallback_spy
    return fallback_spy


def _created(core: TestClient, path: str, body: dict[str, object]) -> str:
    response = core.post(path, json=body, headers=TENANT)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


def _unhyphenated(row_id: str) -> str:
    # Valid for FastAPI's UUID parameter, but not the canonical form the fast lane serves.
    return row_id.replace("-", "")


def test_fast_reads_answer_exactly_as_the_framework_routes(
    core: TestClient, spy: FallbackSpy
) -> None:
    automation = _created(core, "/v1/automations", {"name": "a"})
    version = _created(core, "/v1/automation-versions", {"automation_id": automation})
    quote = _created(core, "/v1/admin/quotes", {"title": "q", "amount_cents": 5})
    account = _created(core, "/v1/admin/clients", {"name": "c"})
    project = _created(core, "/v1/admin/projects", {"name": "p"})
    pairs = [  # (fast lane, same request forced onto the FastAPI route)
        ("/v1/automations?limit=20", "/v1/automations?limit=20&limit=20"),
        ("/v1/automations", "/v1/automations?x=1&x=1"),
        (f"/v1/automations/{automation}", f"/v1/automations/{_unhyphenated(automation)}"),
        (
            f"/v1/automation-versions?automation_id={automation}&limit=10",
            f"/v1/automation-versions?automation_id={automation}&limit=10&limit=10",
        ),
        ("/v1/automation-versions", "/v1/automation-versions?x=1&x=1"),
        (f"/v1/automation-versions/{version}", f"/v1/automation-versions/{_unhyphenated(version)}"),
        ("/v1/admin/quotes?limit=5", "/v1/admin/quotes?limit=5&limit=5"),
        (f"/v1/admin/quotes/{quote}", f"/v1/admin/quotes/{_unhyphenated(quote)}"),
        ("/v1/admin/clients", "/v1/admin/clients?x=1&x=1"),
        (f"/v1/admin/clients/{account}", f"/v1/admin/clients/{_unhyphenated(account)}"),
        ("/v1/admin/projects", "/v1/admin/projects?x=1&x=1"),
        (f"/v1/admin/projects/{project}", f"/v1/admin/projects/{_unhyphenated(project)}"),
    ]
    for fast_path, framework_path in pairs:
        spy.paths.clear()
        fast = core.get(fast_path, headers=TENANT)
        assert spy.paths == [], f"{fast_path} did not take the fast lane"
        framework = core.get(framework_path, headers=TENANT)
        assert spy.paths, f"{framework_path} took the fast lane"
        assert fast.status_code == framework.status_code == 200, fast_path
        assert fast.content == framework.content, fast_path
        assert fast.headers["content-type"] == framework.headers["content-type"]
        assert fast.headers["x-request-id"]


def test_feature_flags_take_the_fast_lane(core: TestClient, spy: FallbackSpy) -> None:
    response = core.get("/v1/admin/feature-flags", headers=TENANT)
    assert response.status_code == 200
    assert {item["flag"] for item in response.json()["items"]}
    assert spy.paths == []


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/v1/automations?limit=0", TENANT, 422, "validation_failed"),
        ("/v1/automations?limit=201", TENANT, 422, "validation_failed"),
        ("/v1/automations?limit=ten", TENANT, 422, "validation_failed"),
        ("/v1/automations", {}, 400, "validation_failed"),
        ("/v1/automation-versions/not-a-uuid", TENANT, 422, "validation_failed"),
        ("/v1/automation-versions?automation_id=nope", TENANT, 422, "validation_failed"),
        ("/v1/admin/quotes?limit=", TENANT, 422, "validation_failed"),
    ],
)
def test_irregular_reads_get_the_framework_errors(
    *,
    core: TestClient,
    spy: FallbackSpy,
    path: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = core.get(path, headers=headers)
    assert spy.paths, "the fast lane must leave irregular requests to the framework"
    assert response.status_code == status
    assert response.json()["error_code"] == code


def test_fast_lane_errors_have_the_error_shape_and_reach_the_access_log(
    core: TestClient, spy: FallbackSpy, logs: CapturedLogs
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    response = core.get(f"/v1/automation-versions/{missing}", headers=TENANT)
    assert spy.paths == []
    assert response.status_code == 404
    body = response.json()
    assert body["error_code"] == "not_found"
    assert body["request_id"] == response.headers["x-request-id"]
    access = [line for line in logs.lines() if line["message"] == "request completed"]
    assert access[-1]["error_code"] == "not_found"
    assert access[-1]["route"] == "/v1/automation-versions/{version_id}"
    assert access[-1]["status"] == 404
