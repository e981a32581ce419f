"""The shared app factory: health, metrics, request ids, access log, error shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from fake_services.observability import (
    ErrorCode,
    ServiceError,
    create_service_app,
    create_telemetry,
)
from fake_services.routes import RouteTable

from .conftest import CANARY, CapturedLogs

ROUTES = RouteTable(("/v1/items/{id}", "/v1/items", "/v1/boom"))


class Item(BaseModel):
    name: str


def build_app() -> FastAPI:
    app = create_service_app(create_telemetry("svc", ROUTES), ROUTES, trust_identity_headers=True)

    @app.get("/v1/items/{id}")
    async def get_item(id: str) -> dict[str, str]:
        if id == "missing":
            raise ServiceError(ErrorCode.NOT_FOUND, "no such item")
        return {"id": id}

    @app.post("/v1/items", status_code=201)
    async def create_item(item: Item) -> Item:
        return item

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError(f"exploded with token={CANARY}")

    return app


@pytest.fixture
def client(logs: CapturedLogs) -> Iterator[TestClient]:
    with TestClient(build_app()) as test_client:
        yield test_client


def sample(app: FastAPI, name: str, labels: dict[str, str]) -> float | None:
    registry: CollectorRegistry = app.state.telemetry.registry
    return registry.get_sample_value(name, labels)


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_metrics_use_route_templates_and_exclude_probes(client: TestClient) -> None:
    client.get("/v1/items/1")
    client.get("/v1/items/2")
    client.get("/healthz")
    client.get("/nowhere")
    body = client.get("/metrics").text
    assert 'http_request_count_total{method="GET",route="/v1/items/{id}",status="200"} 2.0' in body
    assert 'route="unmatched",status="404"' in body
    assert "/healthz" not in body
    assert 'route="/metrics"' not in body
    assert 'le="0.4"' in body
    assert 'http_5xx_count_total{route="/v1/boom"} 0.0' in body  # present before any error


def test_4xx_and_5xx_counters(client: TestClient) -> None:
    client.get("/v1/items/missing")
    client.get("/v1/boom")
    app = client.app
    assert isinstance(app, FastAPI)
    assert sample(app, "http_4xx_count_total", {"route": "/v1/items/{id}"}) == 1.0
    assert sample(app, "http_5xx_count_total", {"route": "/v1/boom"}) == 1.0


def test_valid_request_id_is_kept_and_echoed(client: TestClient) -> None:
    response = client.get("/v1/items/1", headers={"X-Request-ID": "client-req-0001"})
    assert response.headers["x-request-id"] == "client-req-0001"


def test_invalid_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/v1/items/1", headers={"X-Request-ID": "bad id"})
    assert response.headers["x-request-id"] != "bad id"
    assert len(response.headers["x-request-id"]) == 32


def test_access_log_line(client: TestClient, logs: CapturedLogs) -> None:
    client.get(
        "/v1/items/7",
        headers={"X-Request-ID": "client-req-0002", "X-Tenant-ID": "t1", "X-User-ID": "u1"},
    )
    (line,) = [entry for entry in logs.lines() if entry["message"] == "request completed"]
    assert line["request_id"] == "client-req-0002"
    assert line["route"] == "/v1/items/{id}"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert (line["tenant_id"], line["user_id"]) == ("t1", "u1")
    assert len(line["trace_id"]) == 32


def test_service_error_shape(client: TestClient, logs: CapturedLogs) -> None:
    response = client.get("/v1/items/missing", headers={"X-Request-ID": "client-req-0003"})
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "not_found",
        "message": "no such item",
        "request_id": "client-req-0003",
    }
    access = next(e for e in logs.lines() if e["message"] == "request completed")
    assert (access["level"], access["error_code"]) == ("WARN", "not_found")


def test_validation_error_is_422_validation_failed_without_echoing_input(
    client: TestClient,
) -> None:
    response = client.post("/v1/items", json={"name": 123, "extra": CANARY})
    assert response.status_code == 422
    assert response.json()["error_code"] == "validation_failed"
    assert CANARY not in response.text


def test_unexpected_exception_is_500_json_and_logged_redacted(
    client: TestClient, logs: CapturedLogs
) -> None:
    response = client.get("/v1/boom", headers={"X-Request-ID": "client-req-0004"})
    assert response.status_code == 500
    assert response.json() == {
        "error_code": "internal_error",
        "message": "internal error",
        "request_id": "client-req-0004",
    }
    assert response.headers["x-request-id"] == "client-req-0004"
    errors = [e for e in logs.lines() if e["level"] == "ERROR"]
    assert errors[0]["message"] == "unhandled exception"
    assert errors[0]["error_code"] == "internal_error"
    assert "RuntimeError" in errors[0]["exception"]
    assert CANARY not in logs.text()


def test_unknown_method_is_405_method_not_allowed(client: TestClient) -> None:
    response = client.delete("/v1/items/1")
    assert response.status_code == 405
    assert response.json()["error_code"] == "method_not_allowed"


def test_incoming_traceparent_is_continued(client: TestClient, logs: CapturedLogs) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    client.get("/v1/items/1", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    access = next(e for e in logs.lines() if e["message"] == "request completed")
    assert access["trace_id"] == trace_id
