"""The edge's security signal (auth failures by source) and traffic-shaping lever (rate limit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fake_services.edge.app import create_app
from fake_services.edge.levers import MAX_TENANT_OVERRIDES
from fake_services.edge.ratelimit import MAX_RETRY_AFTER_S, RateLimiter
from fake_services.edge.settings import ApiKey, EdgeSettings
from fake_services.observability import Redactor, create_telemetry
from fake_services.routes import EDGE_ROUTES

from .conftest import CapturedLogs

STUDIO_KEY = "studio-key-levers-0123"
OTHER_TENANT_KEY = "studio-key-levers-4567"
ADMIN_KEY = "admin-key-levers-0123"
KEYS = {
    STUDIO_KEY: ApiKey(tenant_id="t1", user_id="u1", scopes=frozenset({"studio"})),
    OTHER_TENANT_KEY: ApiKey(tenant_id="t3", user_id="u3", scopes=frozenset({"studio"})),
    ADMIN_KEY: ApiKey(tenant_id="t2", user_id="u2", scopes=frozenset({"admin"})),
}

ClientFactory = Callable[..., TestClient]


def _ok(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"items": []})


@pytest.fixture
def make_client(logs: CapturedLogs) -> Iterator[ClientFactory]:
    opened: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        settings = EdgeSettings("http://core.invalid", 5.0, KEYS, **overrides)  # type: ignore[arg-type]
        logs.configure("edge", Redactor(settings.secrets()))
        app = create_app(settings, create_telemetry("edge", EDGE_ROUTES), httpx.MockTransport(_ok))
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def sample(client: TestClient, name: str, labels: dict[str, str]) -> float | None:
    app = client.app
    assert isinstance(app, FastAPI)
    value: float | None = app.state.telemetry.registry.get_sample_value(name, labels)
    return value


def test_auth_failures_are_counted_by_forwarded_source(
    make_client: ClientFactory, logs: CapturedLogs
) -> None:
    client = make_client(trust_forwarded=True)
    for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        client.get("/v1/automations", headers=bearer("wrong-key-000", **{"X-Forwarded-For": ip}))
    client.get("/v1/admin/tenants", headers=bearer(STUDIO_KEY, **{"X-Forwarded-For": "10.0.0.2"}))
    client.get("/v1/automations", headers={"X-Forwarded-For": "10.0.0.3, 192.168.0.1"})
    failures = "auth_failures_total"
    assert sample(client, failures, {"source_ip": "10.0.0.1", "reason": "auth_unknown_key"}) == 2
    assert sample(client, failures, {"source_ip": "10.0.0.2", "reason": "auth_unknown_key"}) == 1
    assert sample(client, failures, {"source_ip": "10.0.0.2", "reason": "auth_forbidden"}) == 1
    assert sample(client, failures, {"source_ip": "10.0.0.3", "reason": "auth_missing_key"}) == 1
    denied = [e for e in logs.lines() if e.get("status") in (401, 403)]
    assert [e["source_ip"] for e in denied] == [
        "10.0.0.1",
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.2",
        "10.0.0.3",
    ]


def test_forwarded_header_is_ignored_without_trust(make_client: ClientFactory) -> None:
    client = make_client()
    client.get(
        "/v1/automations", headers=bearer("wrong-key-000", **{"X-Forwarded-For": "10.9.9.9"})
    )
    labels = {"source_ip": "10.9.9.9", "reason": "auth_unknown_key"}
    assert sample(client, "auth_failures_total", labels) is None
    # The test client's peer is not an IP address.
    labels["source_ip"] = "unknown"
    assert sample(client, "auth_failures_total", labels) == 1


def test_source_labels_are_capped(make_client: ClientFactory) -> None:
    client = make_client(trust_forwarded=True, auth_failure_sources_max=2)
    for i in range(5):
        client.get("/v1/automations", headers={"X-Forwarded-For": f"10.1.0.{i}"})
    labels = {"source_ip": "other", "reason": "auth_missing_key"}
    assert sample(client, "auth_failures_total", labels) == 3


def test_successful_requests_are_not_auth_failures(make_client: ClientFactory) -> None:
    client = make_client()
    assert client.get("/v1/automations", headers=bearer(STUDIO_KEY)).status_code == 200
    assert "auth_failures_total{" not in client.get("/metrics").text


def test_rate_limit_lever_needs_the_admin_scope(make_client: ClientFactory) -> None:
    client = make_client()
    body = {"requests_per_second": 1}
    assert (
        client.put("/v1/admin/rate-limit", json=body, headers=bearer(STUDIO_KEY)).status_code == 403
    )
    assert client.put("/v1/admin/rate-limit", json=body).status_code == 401
    response = client.put("/v1/admin/rate-limit", json=body, headers=bearer(ADMIN_KEY))
    assert response.status_code == 200
    assert response.json() == {"requests_per_second": 1.0, "burst": 1.0, "tenants": {}}
    assert client.get("/v1/admin/rate-limit", headers=bearer(ADMIN_KEY)).json()["burst"] == 1.0


def test_rate_limit_refuses_per_tenant_and_lifts(make_client: ClientFactory) -> None:
    client = make_client()
    put = client.put(
        "/v1/admin/rate-limit",
        json={"requests_per_second": 0.5, "burst": 2},
        headers=bearer(ADMIN_KEY),
    )
    assert put.status_code == 200
    statuses = [
        client.get("/v1/automations", headers=bearer(STUDIO_KEY)).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    refused = client.get("/v1/automations", headers=bearer(STUDIO_KEY))
    assert refused.json()["error_code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    # Another tenant has its own bucket; the levers stay reachable.
    assert client.get("/v1/automations", headers=bearer(OTHER_TENANT_KEY)).status_code == 200
    assert sample(client, "edge_rate_limited_requests_total", {"tenant_id": "t1"}) == 2
    assert sample(client, "edge_rate_limit_requests_per_second", {}) == 0.5
    lifted = client.put(
        "/v1/admin/rate-limit", json={"requests_per_second": None}, headers=bearer(ADMIN_KEY)
    )
    assert lifted.json() == {"requests_per_second": None, "burst": None, "tenants": {}}
    assert client.get("/v1/automations", headers=bearer(STUDIO_KEY)).status_code == 200
    assert sample(client, "edge_rate_limit_requests_per_second", {}) == 0


def statuses(client: TestClient, key: str, count: int) -> list[int]:
    return [client.get("/v1/automations", headers=bearer(key)).status_code for _ in range(count)]


def put_limit(client: TestClient, body: dict[str, object]) -> dict[str, object]:
    response = client.put("/v1/admin/rate-limit", json=body, headers=bearer(ADMIN_KEY))
    assert response.status_code == 200, response.text
    state: dict[str, object] = response.json()
    return state


def test_an_override_throttles_only_its_tenant(
    make_client: ClientFactory, logs: CapturedLogs
) -> None:
    client = make_client()
    put_limit(client, {"tenants": {"t1": {"requests_per_second": 0.001, "burst": 2}}})
    assert statuses(client, STUDIO_KEY, 3) == [200, 200, 429]
    assert statuses(client, OTHER_TENANT_KEY, 5) == [200] * 5  # no default: not limited
    assert sample(client, "edge_rate_limited_requests_total", {"tenant_id": "t1"}) == 1
    assert sample(client, "edge_rate_limited_requests_total", {"tenant_id": "t3"}) is None
    assert sample(client, "edge_rate_limit_requests_per_second", {}) == 0
    override = "edge_rate_limit_override_requests_per_second"
    assert sample(client, override, {"tenant_id": "t1"}) == 0.001
    [changed] = [e for e in logs.lines() if e["message"] == "rate limit changed"]
    assert changed["tenants"] == {"t1": {"requests_per_second": 0.001, "burst": 2.0}}
    assert "requests_per_second" not in changed  # no default


def test_a_tenant_without_an_override_gets_the_default(make_client: ClientFactory) -> None:
    client = make_client()
    put_limit(
        client,
        {
            "requests_per_second": 0.001,
            "burst": 1,
            "tenants": {"t1": {"requests_per_second": 0.001, "burst": 3}},
        },
    )
    assert statuses(client, STUDIO_KEY, 4) == [200, 200, 200, 429]
    assert statuses(client, OTHER_TENANT_KEY, 2) == [200, 429]


def test_a_null_override_exempts_its_tenant_from_the_default(make_client: ClientFactory) -> None:
    client = make_client()
    put_limit(client, {"requests_per_second": 0.001, "tenants": {"t1": {"burst": 5}}})
    assert statuses(client, STUDIO_KEY, 5) == [200] * 5
    assert statuses(client, OTHER_TENANT_KEY, 2) == [200, 429]
    override = "edge_rate_limit_override_requests_per_second"
    assert sample(client, override, {"tenant_id": "t1"}) == 0  # 0 = not limited


def test_get_returns_the_state_put_set_and_put_replaces_it(make_client: ClientFactory) -> None:
    client = make_client()
    admin = bearer(ADMIN_KEY)
    body = {
        "requests_per_second": 2,
        "tenants": {"t1": {"requests_per_second": 0.5}, "t3": {"requests_per_second": None}},
    }
    expected = {
        "requests_per_second": 2.0,
        "burst": 2.0,
        "tenants": {
            "t1": {"requests_per_second": 0.5, "burst": 1.0},
            "t3": {"requests_per_second": None, "burst": None},
        },
    }
    assert put_limit(client, body) == expected
    assert client.get("/v1/admin/rate-limit", headers=admin).json() == expected
    # The next PUT is the whole state: t1's override is gone, from the lever and the metrics.
    replaced = put_limit(client, {"tenants": {"t3": {"requests_per_second": 1, "burst": 4}}})
    assert client.get("/v1/admin/rate-limit", headers=admin).json() == replaced
    assert replaced["tenants"] == {"t3": {"requests_per_second": 1.0, "burst": 4.0}}
    override = "edge_rate_limit_override_requests_per_second"
    assert sample(client, override, {"tenant_id": "t1"}) is None
    assert sample(client, override, {"tenant_id": "t3"}) == 1
    assert statuses(client, STUDIO_KEY, 3) == [200] * 3


def test_feature_flag_lever_is_exempt_from_the_limit(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_rps=0.001)
    admin = bearer(ADMIN_KEY)
    assert client.get("/v1/admin/tenants", headers=admin).status_code == 200
    assert client.get("/v1/admin/tenants", headers=admin).status_code == 429
    assert client.put("/v1/admin/feature-flags/x", json={}, headers=admin).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requests_per_second": 0}, "body.requests_per_second"),
        ({"requests_per_second": -1}, "body.requests_per_second"),
        ({"burst": 0.5}, "body.burst"),
        ({"tenants": {"t1": {"requests_per_second": 0}}}, "body.tenants.t1.requests_per_second"),
        ({"tenants": {"t1": {"burst": 0.5}}}, "body.tenants.t1.burst"),
        ({"tenants": {"t1": 5}}, "body.tenants.t1"),
        ({"tenants": {"t 1": {}}}, "body.tenants.t 1.[key]"),
        ({"tenants": {"": {}}}, "body.tenants..[key]"),
        ({"tenants": {f"t{i}": {} for i in range(MAX_TENANT_OVERRIDES + 1)}}, "body.tenants"),
    ],
)
def test_invalid_limits_are_422(
    make_client: ClientFactory, body: dict[str, object], field: str
) -> None:
    client = make_client(rate_limit_rps=5.0)
    response = client.put("/v1/admin/rate-limit", json=body, headers=bearer(ADMIN_KEY))
    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{field}: ")
    # Nothing of the refused body was applied.
    lever = client.get("/v1/admin/rate-limit", headers=bearer(ADMIN_KEY)).json()
    assert lever == {"requests_per_second": 5.0, "burst": 5.0, "tenants": {}}


def test_the_most_overrides_allowed_are_accepted(make_client: ClientFactory) -> None:
    client = make_client()
    tenants = {f"t{i}": {"requests_per_second": 1} for i in range(MAX_TENANT_OVERRIDES)}
    response = client.put(
        "/v1/admin/rate-limit", json={"tenants": tenants}, headers=bearer(ADMIN_KEY)
    )
    assert response.status_code == 200
    assert len(response.json()["tenants"]) == MAX_TENANT_OVERRIDES


def test_token_bucket_refills_at_the_configured_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("fake_services.edge.ratelimit.time.monotonic", lambda: now[0])
    limiter = RateLimiter()
    limiter.configure(2.0, burst=2)
    assert [limiter.check("t").allowed for _ in range(3)] == [True, True, False]
    now[0] += 0.5  # one token back at 2/s
    assert limiter.check("t").allowed
    assert not limiter.check("t").allowed
    assert limiter.check("t").retry_after_s == 1


@pytest.mark.parametrize("rate", [1e-300, 5e-324])  # 1 / 5e-324 overflows to infinity
def test_retry_after_is_capped_under_a_tiny_limit(rate: float) -> None:
    limiter = RateLimiter()
    limiter.configure(rate)
    assert limiter.check("t").allowed
    assert limiter.check("t").retry_after_s == MAX_RETRY_AFTER_S
