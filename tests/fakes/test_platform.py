"""The fake WRK Platform's API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fake_services.observability import Telemetry
from fake_services.platform.app import create_app
from fake_services.platform.store import WorkflowStatus, WorkflowStore

from .conftest import CapturedLogs


@pytest.fixture
def store() -> WorkflowStore:
    return WorkflowStore()


@pytest.fixture
def client(
    platform_telemetry: Telemetry, store: WorkflowStore, logs: CapturedLogs
) -> Iterator[TestClient]:
    with TestClient(create_app(platform_telemetry, store)) as test_client:
        yield test_client


def test_create_then_deactivate(client: TestClient, store: WorkflowStore) -> None:
    created = client.post("/v1/workflows", json={"name": "n", "tenant_id": "t1"})
    assert created.status_code == 201
    workflow_id = created.json()["workflow_id"]
    assert workflow_id.startswith("wf_")
    assert store.workflows[workflow_id].tenant_id == "t1"

    deactivated = client.post(f"/v1/workflows/{workflow_id}/deactivate")
    assert deactivated.status_code == 200
    assert deactivated.json() == {"workflow_id": workflow_id, "status": "inactive"}
    assert store.workflows[workflow_id].status is WorkflowStatus.INACTIVE


def test_deactivating_an_unknown_workflow_is_404(client: TestClient) -> None:
    response = client.post("/v1/workflows/wf_unknown/deactivate")
    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"


def test_invalid_body_is_422(client: TestClient) -> None:
    response = client.post("/v1/workflows", json={"name": ""})
    assert response.status_code == 422
    assert response.json()["error_code"] == "validation_failed"


def test_metrics_label_the_deactivate_template(client: TestClient) -> None:
    client.post("/v1/workflows/wf_x/deactivate")
    assert (
        'route="/v1/workflows/{workflow_id}/deactivate",status="404"' in client.get("/metrics").text
    )
