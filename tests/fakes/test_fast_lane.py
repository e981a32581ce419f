"""Core's fast lane answers exactly as its FastAPI routes do, and leaves them every odd request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ._fastlane import FallbackSpy
from .conftest import CapturedLogs

TENANT = {"X-Tenant-ID": "t1", "X-User-ID": "u1"}


@pytest.fixture
def spy(core: TestClient) -> FallbackSpy:
    return FallbackSpy.install(core)


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


# Writes ----------------------------------------------------------------------------------------

JSON = {**TENANT, "content-type": "application/json"}
# The framework route parses this body as JSON too; the fast lane serves only the exact type.
JSON_UTF8 = {**TENANT, "content-type": "application/json; charset=utf-8"}
# Fields that differ between two rows made the same way.
_PER_ROW = ("id", "workflow_id", "version", "created_at", "updated_at")


def _comparable(response_json: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in response_json.items() if k not in _PER_ROW}


def _write(core: TestClient, method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return core.request(method, path, content=body, headers=headers)


def test_fast_writes_answer_as_the_framework_routes(core: TestClient, spy: FallbackSpy) -> None:
    automation = _created(core, "/v1/automations", {"name": "a"})

    def client_path() -> str:
        return f"/v1/admin/clients/{_created(core, '/v1/admin/clients', {'name': 'c'})}"

    def quote_path() -> str:
        quote = _created(core, "/v1/admin/quotes", {"title": "q", "amount_cents": 5})
        return f"/v1/admin/quotes/{quote}"

    writes: list[tuple[str, Callable[[], str], dict[str, object]]] = [
        ("POST", lambda: "/v1/automations", {"name": "n"}),
        ("POST", lambda: "/v1/automation-versions", {"automation_id": automation, "notes": "x"}),
        ("POST", lambda: "/v1/admin/quotes", {"title": "t", "amount_cents": 7}),
        ("POST", lambda: "/v1/admin/clients", {"name": "c2", "health_status": "At Risk"}),
        ("PATCH", client_path, {"health_status": "At Risk"}),
        ("PATCH", quote_path, {"status": "sent"}),
    ]
    for method, path, body in writes:
        raw = json.dumps(body).encode()
        fast_path, framework_path = path(), path()  # a PATCH changes a row of its own
        spy.paths.clear()
        fast = _write(core, method, fast_path, raw, JSON)
        assert spy.paths == [], f"{method} {fast_path} did not take the fast lane"
        framework = _write(core, method, framework_path, raw, JSON_UTF8)
        assert spy.paths == [framework_path], f"{method} {framework_path} took the fast lane"
        assert fast.status_code == framework.status_code, (fast.text, framework.text)
        assert fast.status_code == (201 if method == "POST" else 200), fast.text
        assert _comparable(fast.json()) == _comparable(framework.json()), fast_path
        assert fast.headers["content-type"] == framework.headers["content-type"]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "field"),
    [
        ("POST", "/v1/admin/quotes", b'{"title": "t", "amount_cents": "7"}', JSON, 422,
         "amount_cents"),
        ("POST", "/v1/admin/quotes", b'{"title": "t"}', JSON, 422, "amount_cents"),
        ("POST", "/v1/automations", b'{"name": ', JSON, 422, "body"),
        ("POST", "/v1/automations", b"[]", JSON, 422, "body"),
        ("POST", "/v1/automation-versions", b'{"automation_id": "nope"}', JSON, 422,
         "automation_id"),
        ("POST", "/v1/automations", b'{"name": "n"}', {"content-type": "application/json"}, 400,
         "X-Tenant-ID"),
        ("PATCH", "/v1/admin/clients/not-a-uuid", b'{"health_status": "Healthy"}', JSON, 422,
         "client_id"),
        ("PATCH", "/v1/admin/clients/00000000-0000-4000-8000-000000000000",
         b'{"health_status": "Fine"}', JSON, 422, "health_status"),
    ],
)  # fmt: skip
def test_irregular_writes_get_the_framework_errors_on_the_body_sent(
    *,
    core: TestClient,
    spy: FallbackSpy,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    field: str,
) -> None:
    response = _write(core, method, path, body, headers)
    assert spy.paths, "the fast lane must leave irregular requests to the framework"
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == "validation_failed"
    # The framework judged the body the fast lane had read: it names the offending field.
    assert field in response.json()["message"], response.json()["message"]
