"""End to end: platform, core and edge as real processes, one request id across all of them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._postgres import Postgres
from ._processes import ServiceProcess, start_service

API_KEY = "e2e-key-5b0c7f1d9a"
KEYS = {API_KEY: {"tenant_id": "tenant-e2e", "user_id": "user-e2e", "scopes": ["studio"]}}

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(postgres: Postgres, tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    log_dir = tmp_path
    spans = {"WRK_SPAN_FILE": str(log_dir / "spans.jsonl")}
    started: dict[str, ServiceProcess] = {}
    try:
        started["platform"] = start_service("platform", spans, log_dir)
        started["core"] = start_service(
            "core",
            {
                **spans,
                "WRK_DATABASE_URL": postgres.create_database(),
                "WRK_PLATFORM_URL": started["platform"].base_url,
            },
            log_dir,
        )
        started["edge"] = start_service(
            "edge",
            {
                **spans,
                "WRK_CORE_URL": started["core"].base_url,
                "WRK_API_KEYS": json.dumps(KEYS),
            },
            log_dir,
        )
        yield started
    finally:
        for service in reversed(list(started.values())):
            service.stop()


def json_lines(service: ServiceProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.log_lines() if line.startswith("{")]


def lines_for(service: ServiceProcess, request_id: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(service) if line.get("request_id") == request_id]


def wait_for_lines(service: ServiceProcess, request_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while not (found := lines_for(service, request_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_post_then_get_through_the_edge(stack: dict[str, ServiceProcess]) -> None:
    edge = stack["edge"]
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Request-ID": "e2e-post-00000001"}
    with httpx.Client(base_url=edge.base_url, timeout=10) as client:
        created = client.post("/v1/automations", json={"name": "e2e"}, headers=headers)
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == "e2e-post-00000001"
        assert created.json()["tenant_id"] == "tenant-e2e"

        listed = client.get(
            "/v1/automations", headers={**headers, "X-Request-ID": "e2e-get-000000001"}
        )
        assert listed.status_code == 200
        assert [a["id"] for a in listed.json()["items"]] == [created.json()["id"]]

        metrics = client.get("/metrics").text
    assert 'http_request_count_total{method="POST",route="/v1/automations",status="201"} 1.0' in (
        metrics
    )

    for name in ("edge", "core", "platform"):
        found = wait_for_lines(stack[name], "e2e-post-00000001")
        assert found, f"{name} logged nothing for the request"
        access = [line for line in found if line["message"] == "request completed"]
        assert access, f"{name} wrote no access log line"
        assert {line["service"] for line in found} == {name}

    edge_access = lines_for(edge, "e2e-post-00000001")[-1]
    core_access = next(
        line
        for line in lines_for(stack["core"], "e2e-post-00000001")
        if line["message"] == "request completed"
    )
    assert edge_access["trace_id"] == core_access["trace_id"]  # traceparent crossed the hop
    assert (core_access["tenant_id"], core_access["user_id"]) == ("tenant-e2e", "user-e2e")
    assert core_access["route"] == "/v1/automations"
    assert API_KEY not in edge.log_path.read_text()
