"""Studio API: automation versions, their build jobs, archiving, and the platform flag."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fake_services.observability import Telemetry
from fake_services.platform.faults import FaultConfig, FaultMode

from ._core import STUDIO, core_client, fetch, queued, sample
from ._processes import free_port
from .conftest import CapturedLogs

ADMIN = {"X-Tenant-ID": "t1", "X-User-ID": "admin-1"}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def new_automation(core: TestClient, name: str = "Invoices") -> dict[str, Any]:
    response = core.post("/v1/automations", json={"name": name}, headers=STUDIO)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_version(core: TestClient, automation_id: str, **extra: Any) -> dict[str, Any]:
    body = {"automation_id": automation_id, **extra}
    response = core.post("/v1/automation-versions", json=body, headers=STUDIO)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def make_active(database_url: str, version_id: str, workflow_id: str) -> None:
    """What the build worker does once the platform created the workflow."""
    fetch(
        database_url,
        "UPDATE automation_versions SET status = 'active', workflow_id = $2 WHERE id = $1",
        version_id,
        workflow_id,
    )


def set_flag(core: TestClient, flag: str, enabled: bool) -> None:
    response = core.put(f"/v1/admin/feature-flags/{flag}", json={"enabled": enabled}, headers=ADMIN)
    assert response.status_code == 200, response.text


def test_creating_a_version_enqueues_its_build_and_ingestion(
    core: TestClient, redis_url: str, database_url: str
) -> None:
    automation = new_automation(core)
    response = core.post(
        "/v1/automation-versions",
        json={"automation_id": automation["id"], "notes": "first"},
        headers={**STUDIO, "X-Request-ID": "req-version-0001", "traceparent": TRACEPARENT},
    )
    assert response.status_code == 201
    version = response.json()
    assert (version["version"], version["status"], version["workflow_id"]) == (1, "building", None)
    (build,) = queued(redis_url, "build-requests")
    assert build.payload == {"version_id": version["id"]}
    assert (build.kind, build.request_id, build.tenant_id, build.user_id) == (
        "build_version",
        "req-version-0001",
        "t1",
        "u1",
    )
    assert build.traceparent is not None
    assert build.traceparent.split("-")[1] == TRACEPARENT.split("-")[1]  # same trace
    assert build.enqueued_at > 0
    (ingest,) = queued(redis_url, "ai-ingestion")
    assert ingest.payload == {"version_id": version["id"]}
    # Each job has its row from the start: one no worker ever picks up still counts (as a miss)
    # in the async SLOs measured from job_runs.
    rows = fetch(
        database_url,
        "SELECT queue, job_id, request_id, tenant_id, status, attempts, started_at,"
        " extract(epoch FROM enqueued_at)::float8 AS enqueued_at FROM job_runs ORDER BY queue",
    )
    assert rows == [
        {
            "queue": job.queue,
            "job_id": job.id,
            "request_id": "req-version-0001",
            "tenant_id": "t1",
            "status": "queued",
            "attempts": 0,
            "started_at": None,
            "enqueued_at": pytest.approx(job.enqueued_at, abs=1e-3),
        }
        for job in (ingest, build)
    ]
    assert new_version(core, automation["id"])["version"] == 2


def test_a_draft_version_has_no_build(core: TestClient, redis_url: str) -> None:
    automation = new_automation(core)
    version = new_version(core, automation["id"], build=False)
    assert version["status"] == "draft"
    assert queued(redis_url, "build-requests") == []
    # draft → building asks for the build.
    response = core.patch(
        f"/v1/automation-versions/{version['id']}", json={"status": "building"}, headers=STUDIO
    )
    assert response.json()["status"] == "building"
    assert [j.payload["version_id"] for j in queued(redis_url, "build-requests")] == [version["id"]]


def test_versions_are_tenant_scoped_and_listed(core: TestClient) -> None:
    automation = new_automation(core)
    first = new_version(core, automation["id"])
    second = new_version(core, automation["id"])
    other = new_version(core, new_automation(core, "Other")["id"])
    listed = core.get(
        "/v1/automation-versions", params={"automation_id": automation["id"]}, headers=STUDIO
    )
    assert [v["id"] for v in listed.json()["items"]] == [second["id"], first["id"]]
    everything = core.get("/v1/automation-versions", headers=STUDIO).json()["items"]
    assert {v["id"] for v in everything} == {first["id"], second["id"], other["id"]}
    assert core.get(f"/v1/automation-versions/{first['id']}", headers=STUDIO).status_code == 200
    stranger = {"X-Tenant-ID": "t2"}
    assert core.get(f"/v1/automation-versions/{first['id']}", headers=stranger).status_code == 404
    assert core.get("/v1/automation-versions", headers=stranger).json()["items"] == []
    body = {"automation_id": automation["id"]}
    response = core.post("/v1/automation-versions", json=body, headers=stranger)
    assert (response.status_code, response.json()["error_code"]) == (404, "not_found")


@pytest.mark.parametrize(
    "path", ["/v1/automation-versions/not-a-uuid", "/v1/automations/not-a-uuid"]
)
def test_malformed_ids_are_422(core: TestClient, path: str) -> None:
    assert core.get(path, headers=STUDIO).status_code == 422


def test_users_cannot_set_the_worker_statuses(core: TestClient) -> None:
    version = new_version(core, new_automation(core)["id"])
    for status in ("active", "build_failed", "draft"):
        response = core.patch(
            f"/v1/automation-versions/{version['id']}", json={"status": status}, headers=STUDIO
        )
        assert (response.status_code, response.json()["error_code"]) == (409, "invalid_transition")


def test_archiving_an_active_version_deactivates_its_workflow(
    core: TestClient, platform_app: FastAPI, database_url: str
) -> None:
    automation = new_automation(core)
    version = new_version(core, automation["id"])
    workflow = platform_app.state.workflows.create("v1", "t1")
    make_active(database_url, version["id"], workflow.workflow_id)
    response = core.patch(
        f"/v1/automation-versions/{version['id']}", json={"status": "archived"}, headers=STUDIO
    )
    assert response.status_code == 200
    assert response.json()["status"] == "archived"
    assert workflow.status == "inactive"
    calls = {"call": "deactivate_workflow", "outcome": "success"}
    assert sample(core, "wrk_platform_calls_total", calls) == 1
    # One lock on the automation to number the version, one on the version to archive it.
    assert sample(core, "db_lock_wait_time_seconds_count") == 2


def test_failed_deactivation_keeps_the_version_and_names_the_error(
    core: TestClient, platform_app: FastAPI, database_url: str, logs: CapturedLogs
) -> None:
    version = new_version(core, new_automation(core)["id"])
    workflow = platform_app.state.workflows.create("v1", "t1")
    make_active(database_url, version["id"], workflow.workflow_id)
    platform_app.state.faults.config = FaultConfig(mode=FaultMode.ERROR_5XX)
    response = core.patch(
        f"/v1/automation-versions/{version['id']}", json={"status": "archived"}, headers=STUDIO
    )
    assert (response.status_code, response.json()["error_code"]) == (
        502,
        "archive_remote_deactivation_failed",
    )
    assert (
        core.get(f"/v1/automation-versions/{version['id']}", headers=STUDIO).json()["status"]
        == "active"
    )
    (line,) = [
        e
        for e in logs.lines()
        if e.get("error_code") == "archive_remote_deactivation_failed"
        and e["level"] == "ERROR"
        and e["message"] != "request completed"
    ]
    assert line["cause"] == "wrk_platform_error"
    assert line["resource_id"] == version["id"]


def test_platform_flag_off_degrades_cleanly(
    core: TestClient, platform_app: FastAPI, database_url: str, redis_url: str
) -> None:
    automation = new_automation(core)
    version = new_version(core, automation["id"])
    workflow = platform_app.state.workflows.create("v1", "t1")
    make_active(database_url, version["id"], workflow.workflow_id)
    before = sample(
        core, "wrk_platform_calls_total", {"call": "create_workflow", "outcome": "success"}
    )
    set_flag(core, "wrk_platform_calls", False)
    assert sample(core, "feature_flag_enabled", {"flag": "wrk_platform_calls"}) == 0

    # A write that needs the platform now: refused at once, as a 4xx naming the lever.
    refused = core.post("/v1/automations", json={"name": "later"}, headers=STUDIO)
    assert (refused.status_code, refused.json()["error_code"]) == (409, "feature_disabled")
    assert refused.headers["retry-after"] == "30"
    archive = core.patch(
        f"/v1/automation-versions/{version['id']}", json={"status": "archived"}, headers=STUDIO
    )
    assert (archive.status_code, archive.json()["error_code"]) == (409, "feature_disabled")
    assert workflow.status == "active"
    # A write whose platform work is queued: accepted, its build waits in the queue.
    accepted = core.post(
        "/v1/automation-versions", json={"automation_id": automation["id"]}, headers=STUDIO
    )
    assert accepted.status_code == 201
    assert len(queued(redis_url, "build-requests")) == 2
    after = sample(
        core, "wrk_platform_calls_total", {"call": "create_workflow", "outcome": "success"}
    )
    assert after == before  # no call was made
    assert sample(core, "http_5xx_count_total", {"route": "/v1/automations"}) == 0

    set_flag(core, "wrk_platform_calls", True)
    assert core.post("/v1/automations", json={"name": "now"}, headers=STUDIO).status_code == 201


def test_queue_down_fails_the_write_without_a_row(
    database_url: str, core_telemetry: Telemetry, platform_app: FastAPI, logs: CapturedLogs
) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with core_client(
        database_url, dead_redis, core_telemetry, httpx.ASGITransport(platform_app)
    ) as client:
        automation = new_automation(client)
        response = client.post(
            "/v1/automation-versions", json={"automation_id": automation["id"]}, headers=STUDIO
        )
        assert (response.status_code, response.json()["error_code"]) == (503, "queue_unavailable")
    assert fetch(database_url, "SELECT id FROM automation_versions") == []
    assert fetch(database_url, "SELECT job_id FROM job_runs") == []
