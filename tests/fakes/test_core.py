"""Core against a real Postgres, with the WRK Platform behind an httpx transport."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fake_services.core.app import create_app
from fake_services.db import discover
from fake_services.observability import Telemetry
from fake_services.platform.app import create_app as create_platform_app
from fake_services.platform.store import WorkflowStore

from . import _postgres
from ._core import assert_create_fails_on_the_platform, core_client, settings_for
from ._processes import free_port
from .conftest import CapturedLogs

TENANT = {"X-Tenant-ID": "t1", "X-User-ID": "u1"}

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def workflows() -> WorkflowStore:
    return WorkflowStore()


@pytest.fixture
def client(
    *,
    database_url: str,
    redis_url: str,
    core_telemetry: Telemetry,
    platform_telemetry: Telemetry,
    workflows: WorkflowStore,
    logs: CapturedLogs,
) -> Iterator[TestClient]:
    platform = httpx.ASGITransport(create_platform_app(platform_telemetry, workflows))
    with core_client(database_url, redis_url, core_telemetry, platform) as test_client:
        yield test_client


def failing_platform(handler: Handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def sample(client: TestClient, name: str, labels: dict[str, str]) -> float | None:
    app = client.app
    assert isinstance(app, FastAPI)
    value: float | None = app.state.telemetry.registry.get_sample_value(name, labels)
    return value


def test_create_then_list(client: TestClient, workflows: WorkflowStore) -> None:
    created = client.post("/v1/automations", json={"name": "Invoice sync"}, headers=TENANT)
    assert created.status_code == 201
    row = created.json()
    assert row["tenant_id"] == "t1"
    assert row["name"] == "Invoice sync"
    assert row["status"] == "draft"
    assert row["workflow_id"] in workflows.workflows
    assert set(row) == {"id", "tenant_id", "name", "status", "workflow_id", "created_at"}

    listed = client.get("/v1/automations", headers=TENANT)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [row["id"]]
    other_tenant = client.get("/v1/automations", headers={"X-Tenant-ID": "t2"})
    assert other_tenant.json()["items"] == []


def test_the_workflow_is_created_under_the_automation_id(
    client: TestClient, workflows: WorkflowStore
) -> None:
    # The key ties the workflow to this create attempt: a resend cannot orphan a second one.
    row = client.post("/v1/automations", json={"name": "a"}, headers=TENANT).json()
    assert workflows.by_key == {row["id"]: row["workflow_id"]}


def test_platform_call_is_counted_and_timed(client: TestClient) -> None:
    client.post("/v1/automations", json={"name": "a"}, headers=TENANT)
    labels = {"call": "create_workflow", "outcome": "success"}
    assert sample(client, "wrk_platform_calls_total", labels) == 1.0
    assert sample(client, "wrk_platform_calls_total", {**labels, "outcome": "failure"}) == 0.0
    count = sample(client, "wrk_platform_call_duration_seconds_count", {"call": "create_workflow"})
    assert count == 1.0
    db_count = sample(
        client, "db_query_duration_seconds_count", {"operation": "insert", "table": "automations"}
    )
    assert db_count == 1.0


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "x" * 201}, {"name": 5}, {"title": "x"}]
)
def test_invalid_body_is_422_validation_failed(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/v1/automations", json=body, headers=TENANT)
    assert response.status_code == 422
    assert response.json()["error_code"] == "validation_failed"


def test_missing_tenant_is_rejected(client: TestClient) -> None:
    response = client.get("/v1/automations")
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_failed"


def _raise(exc: Exception) -> Handler:
    def handler(_: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    "case",
    [
        (_raise(httpx.ConnectError("refused")), 503, "wrk_platform_unavailable"),
        (_raise(httpx.RemoteProtocolError("reset")), 503, "wrk_platform_unavailable"),
        (_raise(httpx.ReadTimeout("slow")), 504, "wrk_platform_timeout"),
        (lambda _: httpx.Response(500, json={}), 502, "wrk_platform_error"),
        (lambda _: httpx.Response(201, text="not json"), 502, "wrk_platform_error"),
    ],
)
def test_platform_failures_map_to_error_codes(
    redis_url: str,
    database_url: str,
    core_telemetry: Telemetry,
    logs: CapturedLogs,
    case: tuple[Handler, int, str],
) -> None:
    handler, status, code = case
    with core_client(database_url, redis_url, core_telemetry, failing_platform(handler)) as client:
        assert_create_fails_on_the_platform(client, status, code)
    failures = [e for e in logs.lines() if e.get("platform_call") == "create_workflow"]
    assert failures[0]["level"] == "ERROR"
    assert failures[0]["error_code"] == code


def test_a_silent_platform_times_out_as_504(
    redis_url: str, database_url: str, core_telemetry: Telemetry, logs: CapturedLogs
) -> None:
    # A listening socket that never accepts: connects succeed, answers never come.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings = settings_for(database_url, redis_url, platform_url=url, platform_timeout_s=0.3)
        with TestClient(create_app(settings, core_telemetry)) as client:
            started = time.monotonic()
            response = client.post("/v1/automations", json={"name": "a"}, headers=TENANT)
            elapsed = time.monotonic() - started
    assert (response.status_code, response.json()["error_code"]) == (504, "wrk_platform_timeout")
    assert elapsed < 2


def test_migrations_are_recorded_and_applied_once(
    redis_url: str,
    empty_database_url: str,
    core_telemetry: Telemetry,
    platform_telemetry: Telemetry,
    logs: CapturedLogs,
) -> None:
    platform = httpx.ASGITransport(create_platform_app(platform_telemetry))
    app = create_app(settings_for(empty_database_url, redis_url), core_telemetry, platform)
    for _ in range(2):  # a restart finds everything applied
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200

    async def versions() -> list[str]:
        conn = await asyncpg.connect(empty_database_url)
        try:
            return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        finally:
            await conn.close()

    assert asyncio.run(versions()) == [m.version for m in discover()]
    assert asyncio.run(versions())[0] == "0001_automations"


def test_database_down_is_503_db_unavailable(
    redis_url: str, core_telemetry: Telemetry, platform_telemetry: Telemetry, logs: CapturedLogs
) -> None:
    pg = _postgres.start_postgres()
    try:
        url = pg.create_database()
        platform = httpx.ASGITransport(create_platform_app(platform_telemetry))
        with core_client(url, redis_url, core_telemetry, platform) as client:
            assert client.get("/v1/automations", headers=TENANT).status_code == 200
            pg.stop()
            response = client.get("/v1/automations", headers=TENANT)
            assert response.status_code == 503
            assert response.json()["error_code"] == "db_unavailable"
    finally:
        pg.stop()
    errors = [e for e in logs.lines() if e.get("error_code") == "db_unavailable"]
    assert errors
    assert errors[0]["level"] == "ERROR"


def test_startup_gives_up_when_the_database_never_answers(
    redis_url: str, core_telemetry: Telemetry, logs: CapturedLogs
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/wrk"
    settings = settings_for(url, redis_url, db_timeout_s=0.5, db_deadline_s=1.0)
    with pytest.raises(Exception), TestClient(create_app(settings, core_telemetry)):  # noqa: B017
        pass
    gave_up = [e for e in logs.lines() if "giving up" in e["message"]]
    assert gave_up[0]["level"] == "ERROR"
    assert gave_up[0]["error_code"] == "db_unavailable"
