"""WRK_DEFECTS: each deliberate defect appears exactly where the suite must notice it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fake_services import defects
from fake_services import env as envvars
from fake_services.core.app import create_app as create_core_app
from fake_services.edge.app import create_app as create_edge_app
from fake_services.edge.settings import ApiKey, EdgeSettings
from fake_services.observability import Redactor, context, create_telemetry, get_logger
from fake_services.observability.context import RequestContext
from fake_services.routes import CORE_ROUTES, EDGE_ROUTES

from ._core import STUDIO, settings_for
from .conftest import CapturedLogs

KEY = "studio-key-defects-5e2b7c90"
KEYS = {KEY: ApiKey(tenant_id="t1", user_id="u1", scopes=frozenset({"studio"}))}


@pytest.fixture(autouse=True)
def no_defects_after() -> Iterator[None]:
    yield
    defects.configure({})


def inject(*names: str) -> None:
    defects.configure({defects.ENV_VAR: ",".join(names)})


def test_the_variable_is_parsed_strictly() -> None:
    assert defects.configure({}) == frozenset()
    assert defects.configure({defects.ENV_VAR: " "}) == frozenset()
    both = defects.configure({defects.ENV_VAR: "rename_metric, LOG_SECRET"})
    assert both == {defects.Defect.RENAME_METRIC, defects.Defect.LOG_SECRET}
    assert defects.active(defects.Defect.LOG_SECRET)
    with pytest.raises(envvars.ConfigError, match="rename_metrics"):
        defects.parse("rename_metrics")


def test_a_service_refuses_an_unknown_defect() -> None:
    env = {**os.environ, defects.ENV_VAR: "no_such_defect"}
    proc = subprocess.run(
        [sys.executable, "-m", "fake_services", "core"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "no_such_defect" in proc.stderr


def test_none_by_default() -> None:
    defects.configure({})
    names = {m.name for m in create_telemetry("core", CORE_ROUTES).registry.collect()}
    assert "http_5xx_count" in names


def test_rename_metric_exposes_http_5xx_count_under_another_name() -> None:
    inject("rename_metric")
    telemetry = create_telemetry("core", CORE_ROUTES)
    names = {m.name for m in telemetry.registry.collect()}
    assert "http_5xx_count" not in names
    assert "http_5xx_errors" in names  # exposed as http_5xx_errors_total
    assert "http_4xx_count" in names  # nothing else changes


def test_drop_log_field_removes_tenant_id(logs: CapturedLogs) -> None:
    inject("drop_log_field")
    logs.configure("core", Redactor())  # the formatter reads the defect when it is built
    with context.bound(RequestContext(request_id="req-defect-0001", tenant_id="t1")):
        get_logger("test").info("inside a request", tenant_id="t1")
    (line,) = logs.lines()
    assert line["request_id"] == "req-defect-0001"
    assert "tenant_id" not in line


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"items": []})


def edge_forwards(*names: str) -> httpx.Request:
    """One request through an edge built with `names` injected; what reached core."""
    inject(*names)
    recorder = Recorder()
    settings = EdgeSettings("http://core.invalid", 5.0, KEYS)
    app = create_edge_app(
        settings, create_telemetry("edge", EDGE_ROUTES), httpx.MockTransport(recorder)
    )
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {KEY}", "X-Request-ID": "req-defect-0002"}
        assert client.get("/v1/automations", headers=headers).status_code == 200
    (forwarded,) = recorder.requests
    return forwarded


def test_the_edge_forwards_request_id_and_keeps_credentials_by_default() -> None:
    forwarded = edge_forwards()
    assert forwarded.headers["x-request-id"] == "req-defect-0002"
    assert "authorization" not in forwarded.headers


def test_no_request_id_propagation_stops_forwarding_x_request_id() -> None:
    forwarded = edge_forwards("no_request_id_propagation")
    assert "x-request-id" not in forwarded.headers
    assert forwarded.headers["x-tenant-id"] == "t1"  # the rest still flows


def test_log_secret_leaks_the_credential_into_core_logs(
    leaky_core: TestClient, capsys: pytest.CaptureFixture[str], logs: CapturedLogs
) -> None:
    forwarded = edge_forwards("log_secret")
    assert forwarded.headers["authorization"] == f"Bearer {KEY}"
    headers = {**STUDIO, "Authorization": forwarded.headers["authorization"]}
    response = leaky_core.get("/v1/automations", headers=headers)
    assert response.status_code == 200
    leaked = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and KEY in line
    ]
    (line,) = leaked  # once per request
    assert (line["level"], line["service"]) == ("INFO", "core")
    assert line["request_id"] == response.headers["x-request-id"]
    assert KEY not in logs.text()  # the regular, redacted logs stay clean


@pytest.fixture
def leaky_core(
    database_url: str, redis_url: str, platform_app: FastAPI, logs: CapturedLogs
) -> Iterator[TestClient]:
    """Core built with log_secret injected (core reads it when its routers are mounted)."""
    inject("log_secret")
    settings = settings_for(database_url, redis_url)
    telemetry = create_telemetry("core", CORE_ROUTES)
    app = create_core_app(settings, telemetry, httpx.ASGITransport(platform_app))
    with TestClient(app) as client:
        yield client
