"""The edge: API key auth, scopes, identity and correlation headers, pass-through, failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from fake_services import env as envvars
from fake_services.edge.app import create_app
from fake_services.edge.settings import ApiKey, EdgeSettings
from fake_services.observability import Redactor, create_telemetry
from fake_services.routes import EDGE_RATE_LIMIT, EDGE_ROUTES

from ._core import sample
from .conftest import CapturedLogs

STUDIO_KEY = "studio-key-0123456789"
ADMIN_KEY = "admin-key-0123456789"
KEYS = {
    STUDIO_KEY: ApiKey(tenant_id="t1", user_id="u1", scopes=frozenset({"studio"})),
    ADMIN_KEY: ApiKey(tenant_id="t2", user_id="u2", scopes=frozenset({"admin"})),
}

Handler = Callable[[httpx.Request], httpx.Response]


class FakeCore:
    """Stands in for core behind an httpx transport and records what reached it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply: Handler = lambda _: httpx.Response(200, json={"items": []})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def client(core: FakeCore, logs: CapturedLogs) -> Iterator[TestClient]:
    settings = EdgeSettings("http://core.invalid", 5.0, KEYS)
    logs.configure("edge", Redactor(frozenset(settings.secrets())))
    app = create_app(settings, create_telemetry("edge", EDGE_ROUTES), httpx.MockTransport(core))
    with TestClient(app) as test_client:
        yield test_client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}]
)
def test_missing_key_is_401(client: TestClient, core: FakeCore, headers: dict[str, str]) -> None:
    response = client.get("/v1/automations", headers=headers)
    assert response.status_code == 401
    assert response.json()["error_code"] == "auth_missing_key"
    assert core.requests == []


def test_unknown_key_is_401(client: TestClient, core: FakeCore) -> None:
    response = client.get("/v1/automations", headers=bearer("nope-nope-nope"))
    assert response.status_code == 401
    assert response.json()["error_code"] == "auth_unknown_key"
    assert core.requests == []


def test_admin_path_needs_admin_scope(client: TestClient, core: FakeCore) -> None:
    response = client.get("/v1/admin/tenants", headers=bearer(STUDIO_KEY))
    assert response.status_code == 403
    assert response.json()["error_code"] == "auth_forbidden"
    assert client.get("/v1/admin/tenants", headers=bearer(ADMIN_KEY)).status_code == 200


def test_studio_path_needs_studio_scope(client: TestClient) -> None:
    response = client.get("/v1/automations", headers=bearer(ADMIN_KEY))
    assert response.status_code == 403


def test_non_api_paths_are_404_without_forwarding(client: TestClient, core: FakeCore) -> None:
    response = client.get("/elsewhere", headers=bearer(STUDIO_KEY))
    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"
    assert core.requests == []


def test_forwarded_request_carries_identity_and_correlation(
    client: TestClient, core: FakeCore
) -> None:
    response = client.post(
        "/v1/automations?dry_run=1",
        content=b'{"name": "a"}',
        headers={
            **bearer(STUDIO_KEY),
            "Content-Type": "application/json",
            "X-Request-ID": "client-req-0001",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "client-req-0001"
    (forwarded,) = core.requests
    assert forwarded.method == "POST"
    assert forwarded.url.path == "/v1/automations"
    assert forwarded.url.query == b"dry_run=1"
    assert forwarded.content == b'{"name": "a"}'
    assert forwarded.headers["x-request-id"] == "client-req-0001"
    assert forwarded.headers["x-tenant-id"] == "t1"
    assert forwarded.headers["x-user-id"] == "u1"
    assert forwarded.headers["content-type"] == "application/json"
    assert forwarded.headers["traceparent"].startswith("00-")
    assert "authorization" not in forwarded.headers


# (method, path, key): forwarded, forwarded although the path is the lever's (a method the lever
# does not serve), and the edge's own lever.
TENANT_CHECKED = [
    pytest.param("GET", "/v1/automations", STUDIO_KEY, id="forwarded"),
    pytest.param("POST", EDGE_RATE_LIMIT, ADMIN_KEY, id="forwarded-lever-path"),
    pytest.param("PUT", EDGE_RATE_LIMIT, ADMIN_KEY, id="edge-lever"),
]
LIMIT = {"requests_per_second": 1}


def auth_failures(client: TestClient, reason: str) -> float | None:
    labels = {"source_ip": "unknown", "reason": reason}  # the test client's peer is no IP
    return sample(client, "auth_failures_total", labels)


@pytest.mark.parametrize(("method", "path", "key"), TENANT_CHECKED)
def test_foreign_tenant_is_403_counted_and_not_forwarded(
    client: TestClient, core: FakeCore, method: str, path: str, key: str
) -> None:
    headers = {**bearer(key), "X-Tenant-ID": "t9"}
    response = client.request(method, path, json=LIMIT, headers=headers)
    assert response.status_code == 403
    assert response.json()["error_code"] == "credential_scope_mismatch"
    assert core.requests == []
    assert auth_failures(client, "credential_scope_mismatch") == 1
    lever = client.get(EDGE_RATE_LIMIT, headers=bearer(ADMIN_KEY))
    assert lever.json()["requests_per_second"] is None  # the limit was not changed


@pytest.mark.parametrize(("method", "path", "key"), TENANT_CHECKED)
def test_matching_tenant_is_admitted(
    client: TestClient, core: FakeCore, method: str, path: str, key: str
) -> None:
    tenant = KEYS[key].tenant_id
    headers = {**bearer(key), "X-Tenant-ID": tenant}
    response = client.request(method, path, json=LIMIT, headers=headers)
    assert response.status_code == 200
    forwarded = [request.headers["x-tenant-id"] for request in core.requests]
    assert forwarded == ([] if method == "PUT" else [tenant])
    assert auth_failures(client, "credential_scope_mismatch") is None


def test_core_status_and_body_pass_through(client: TestClient, core: FakeCore) -> None:
    error = {"error_code": "wrk_platform_timeout", "message": "m", "request_id": "r"}
    core.reply = lambda _: httpx.Response(504, json=error)
    response = client.post("/v1/automations", json={"name": "a"}, headers=bearer(STUDIO_KEY))
    assert response.status_code == 504
    assert response.json() == error


def test_core_error_code_reaches_the_edge_access_log(
    client: TestClient, core: FakeCore, logs: CapturedLogs
) -> None:
    core.reply = lambda _: httpx.Response(503, json={"error_code": "db_unavailable"})
    client.get("/v1/automations", headers=bearer(STUDIO_KEY))
    access = next(e for e in logs.lines() if e["message"] == "request completed")
    assert (access["level"], access["status"], access["error_code"]) == (
        "ERROR",
        503,
        "db_unavailable",
    )
    assert (access["tenant_id"], access["user_id"]) == ("t1", "u1")


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_core_failure_is_502_core_unavailable(
    client: TestClient, core: FakeCore, failure: Exception
) -> None:
    def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    core.reply = fail
    response = client.get("/v1/automations", headers=bearer(STUDIO_KEY))
    assert response.status_code == 502
    assert response.json()["error_code"] == "core_unavailable"


def test_metrics_use_the_forwarded_route_template(client: TestClient) -> None:
    client.get("/v1/automations", headers=bearer(STUDIO_KEY))
    client.get("/v1/automations")
    body = client.get("/metrics").text
    assert 'http_request_count_total{method="GET",route="/v1/automations",status="200"} 1.0' in body
    assert 'http_request_count_total{method="GET",route="/v1/automations",status="401"} 1.0' in body
    assert 'http_4xx_count_total{route="/v1/automations"} 1.0' in body


def test_api_keys_never_reach_the_logs(client: TestClient, logs: CapturedLogs) -> None:
    client.get("/v1/automations", headers=bearer(STUDIO_KEY))
    client.get("/v1/admin/x", headers=bearer(STUDIO_KEY))
    assert logs.lines()
    assert STUDIO_KEY not in logs.text()


def test_settings_from_env() -> None:
    keys = {STUDIO_KEY: {"tenant_id": "t1", "user_id": "u1", "scopes": ["studio"]}}
    settings = EdgeSettings.from_env(
        {"WRK_CORE_URL": "http://127.0.0.1:9/", "WRK_API_KEYS": json.dumps(keys)}
    )
    assert settings.core_url == "http://127.0.0.1:9"
    assert settings.api_keys[STUDIO_KEY].scopes == frozenset({"studio"})
    assert settings.secrets() == {STUDIO_KEY}


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"WRK_API_KEYS": "{}"}, "WRK_CORE_URL"),
        ({"WRK_CORE_URL": "ftp://c", "WRK_API_KEYS": "{}"}, "WRK_CORE_URL"),
        ({"WRK_CORE_URL": "c:8000", "WRK_API_KEYS": "{}"}, "WRK_CORE_URL"),
        ({"WRK_CORE_URL": "http://c"}, "WRK_API_KEYS"),
        ({"WRK_CORE_URL": "http://c", "WRK_API_KEYS": "{not json"}, "WRK_API_KEYS"),
        ({"WRK_CORE_URL": "http://c", "WRK_API_KEYS": '{"k-secret-1": {}}'}, "WRK_API_KEYS"),
        (
            {
                "WRK_CORE_URL": "http://c",
                "WRK_API_KEYS": '{"k-secret-1": {"tenant_id": "a b", "user_id": "u"}}',
            },
            "WRK_API_KEYS is invalid (tenant_id: String should match pattern",
        ),
    ],
)
def test_bad_settings_name_the_variable_and_hide_keys(env: dict[str, str], names: str) -> None:
    with pytest.raises(envvars.ConfigError) as caught:
        EdgeSettings.from_env(env)
    assert names in str(caught.value)
    assert "k-secret-1" not in str(caught.value)
