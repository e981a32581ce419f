"""The fake WRK Platform: workflow API, fault modes, and the run event sender."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from fake_services import env as envvars
from fake_services.observability import Telemetry, create_telemetry
from fake_services.platform.app import create_app
from fake_services.platform.settings import RunEventSettings
from fake_services.platform.store import WorkflowStatus, WorkflowStore
from fake_services.routes import PLATFORM_ROUTES
from fake_services.webhook import signature

from ._processes import ServiceProcess, start_service
from ._webhook import SECRET
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


# Faults -----------------------------------------------------------------------------------------


def set_faults(client: TestClient, **config: object) -> None:
    response = client.put("/admin/faults", json=config)
    assert response.status_code == 200, response.text


def create(client: TestClient, **headers: str) -> httpx.Response:
    return client.post("/v1/workflows", json={"name": "n", "tenant_id": "t1"}, headers=headers)


def test_idempotent_create_returns_the_same_workflow(
    client: TestClient, store: WorkflowStore
) -> None:
    first = create(client, **{"Idempotency-Key": "version-1"}).json()["workflow_id"]
    again = create(client, **{"Idempotency-Key": "version-1"}).json()["workflow_id"]
    other = create(client, **{"Idempotency-Key": "version-2"}).json()["workflow_id"]
    assert first == again != other
    assert client.get("/admin/workflows").json() == {
        "total": 2,
        "by_status": {"active": 2, "inactive": 0},
        "idempotency_keys": 2,
    }


def test_workflow_creates_are_validated_and_idempotent(
    client: TestClient, store: WorkflowStore
) -> None:
    keyed = create(client, **{"Idempotency-Key": "version-1"})
    plain = create(client)
    too_long = create(client, **{"Idempotency-Key": "k" * 201})
    charset = client.post(
        "/v1/workflows",
        content=json.dumps({"name": "n", "tenant_id": "t2"}),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    refused = client.post("/v1/workflows", json={"name": "", "tenant_id": "t1"})
    assert [keyed.status_code, plain.status_code, charset.status_code] == [201] * 3
    assert (too_long.status_code, too_long.json()["error_code"]) == (422, "validation_failed")
    assert (refused.status_code, refused.json()["error_code"]) == (422, "validation_failed")
    assert create(client, **{"Idempotency-Key": "version-1"}).json() == keyed.json()
    assert sorted(w.tenant_id for w in store.workflows.values()) == ["t1", "t1", "t2"]


def counts(client: TestClient) -> dict[str, object]:
    listing: dict[str, object] = client.get("/admin/workflows").json()
    return listing


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        ({"mode": "error_5xx"}, 500, "internal_error"),
        ({"mode": "error_5xx", "status": 503}, 503, "internal_error"),
        ({"mode": "throttle_429"}, 429, "rate_limited"),
    ],
)
def test_error_faults_refuse_the_request_unprocessed(
    client: TestClient, faults: dict[str, object], status: int, code: str
) -> None:
    workflow_id = create(client).json()["workflow_id"]
    set_faults(client, **faults)
    response = create(client, **{"Idempotency-Key": "version-1"})
    assert (response.status_code, response.json()["error_code"]) == (status, code)
    if status == 429:
        assert response.headers["retry-after"] == "1"
    assert client.post(f"/v1/workflows/{workflow_id}/deactivate").status_code == status
    # Nothing created, no key kept, the workflow still active: a retry finds nothing done.
    assert counts(client) == {
        "total": 1,
        "by_status": {"active": 1, "inactive": 0},
        "idempotency_keys": 0,
    }
    assert f'route="/v1/workflows",status="{status}"' in client.get("/metrics").text


def test_malformed_json_fault_spoils_the_answer_of_work_done(client: TestClient) -> None:
    workflow_id = create(client).json()["workflow_id"]
    set_faults(client, mode="malformed_json")
    response = create(client)
    assert response.status_code == 201
    with pytest.raises(ValueError):
        response.json()
    deactivated = client.post(f"/v1/workflows/{workflow_id}/deactivate")
    assert deactivated.status_code == 200
    with pytest.raises(ValueError):
        deactivated.json()
    assert counts(client)["by_status"] == {"active": 1, "inactive": 1}


@pytest.fixture
def platform_process(tmp_path: Path) -> Iterator[ServiceProcess]:
    service = start_service("platform", {}, tmp_path)
    yield service
    service.stop()


def test_slow_body_fault_stalls_after_the_headers(platform_process: ServiceProcess) -> None:
    # Over a real socket: TestClient buffers whole answers, hiding when the headers came.
    stall_s = 2.0
    with httpx.Client(base_url=platform_process.base_url, timeout=10) as http:
        faults = {"mode": "slow_body", "delay_ms": int(stall_s * 1000)}
        http.put("/admin/faults", json=faults).raise_for_status()
        started = time.monotonic()
        with http.stream("POST", "/v1/workflows", json={"name": "n", "tenant_id": "t1"}) as answer:
            headers_s = time.monotonic() - started
            during_stall = http.get("/admin/workflows").json()["total"]
            body = answer.read()
        body_s = time.monotonic() - started
    assert (answer.status_code, answer.headers["content-type"]) == (201, "application/json")
    assert headers_s < stall_s / 2  # a local answer's headers: milliseconds, even when busy
    assert body_s >= stall_s
    assert during_stall == 1  # the work was done; only its answer is slow
    assert json.loads(body)["workflow_id"].startswith("wf_")


@pytest.mark.parametrize("config", [{"mode": "slow_body"}, {"mode": "slow_body", "delay_ms": 0}])
def test_slow_body_without_a_stall_is_422(client: TestClient, config: dict[str, object]) -> None:
    response = client.put("/admin/faults", json=config)
    assert (response.status_code, response.json()["error_code"]) == (422, "validation_failed")
    assert "body.delay_ms: " in response.json()["message"]
    assert client.get("/admin/faults").json()["mode"] == "none"


def test_delay_and_ratio(client: TestClient) -> None:
    set_faults(client, mode="error_5xx", ratio=0.0, delay_ms=5000)
    started = time.monotonic()
    assert create(client).status_code == 201  # ratio 0: never hit, never delayed
    assert time.monotonic() - started < 1
    set_faults(client, mode="error_5xx", ratio=0.5)
    statuses = [create(client).status_code for _ in range(60)]
    assert set(statuses) == {201, 500}
    # Decided once per request: exactly the requests answered 201 created a workflow.
    assert counts(client)["total"] == 1 + statuses.count(201)
    set_faults(client, mode="none")
    assert {create(client).status_code for _ in range(10)} == {201}
    assert client.get("/admin/faults").json() == {
        "mode": "none",
        "ratio": 1.0,
        "delay_ms": 0,
        "status": 500,
    }


@pytest.mark.parametrize(
    "config",
    [
        {"mode": "explode"},
        {"mode": "error_5xx", "ratio": 2},
        {"delay_ms": -1},
        {"mode": "error_5xx", "status": 404},
        {"mode": "throttle_429", "status": 503},  # a status the mode would not answer
    ],
)
def test_invalid_fault_configs_are_422(client: TestClient, config: dict[str, object]) -> None:
    assert client.put("/admin/faults", json=config).status_code == 422


def test_faults_spare_the_admin_api(client: TestClient) -> None:
    set_faults(client, mode="error_5xx")
    assert client.get("/admin/faults").status_code == 200
    assert client.get("/admin/workflows").status_code == 200


# Run events -------------------------------------------------------------------------------------


class FakeWebhook:
    """Stands in for the webhook: verifies signatures and answers from a script."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[dict[str, object]] = []
        self.attempts: list[str] = []
        self.request_ids: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        signature.verify(
            SECRET,
            signature=request.headers.get(signature.SIGNATURE_HEADER),
            timestamp=request.headers.get(signature.TIMESTAMP_HEADER),
            body=request.content,
            now=time.time(),
            window_s=300,
        )
        self.attempts.append(request.headers[signature.ATTEMPT_HEADER])
        self.request_ids.add(request.headers["x-request-id"])
        assert request.headers["traceparent"].startswith("00-")
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.received.append(json.loads(request.content))
        return httpx.Response(status, json={"duplicate": False, "error_code": "x"})


def sender_client(webhook: FakeWebhook, **settings: object) -> TestClient:
    run_events = RunEventSettings(
        webhook_url="http://webhook.invalid/v1/webhooks/run-events",
        secret=SECRET,
        retry_max_s=0.05,
        **settings,  # type: ignore[arg-type]
    )
    app = create_app(
        create_telemetry("platform", PLATFORM_ROUTES),
        run_events=run_events,
        webhook_transport=httpx.MockTransport(webhook),
    )
    return TestClient(app)


def wait_status(client: TestClient, **expected: int) -> dict[str, int]:
    deadline = time.monotonic() + 10
    while True:
        status: dict[str, int] = client.get("/admin/run-events/status").json()
        if all(status[k] == v for k, v in expected.items()):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_a_batch_is_signed_delivered_and_reported(logs: CapturedLogs) -> None:
    webhook = FakeWebhook()
    with sender_client(webhook) as client:
        sent = client.post("/admin/run-events/batch", json={"count": 5, "tenant_id": "acme"})
        assert sent.status_code == 202
        ids = sent.json()["event_ids"]
        assert len(set(ids)) == 5
        wait_status(client, generated=5, acknowledged=5, pending=0)
        body = client.get("/metrics").text
    assert sorted(e["event_id"] for e in webhook.received) == sorted(ids)
    assert {e["tenant_id"] for e in webhook.received} == {"acme"}
    assert len(webhook.request_ids) == 5  # one request id per event, kept across retries
    assert 'webhook_delivery_attempts_total{outcome="acknowledged"} 5.0' in body
    assert "webhook_deliveries_pending 0.0" in body


def test_transient_failures_are_retried_with_the_same_event(logs: CapturedLogs) -> None:
    webhook = FakeWebhook(answers=[503, 504, 429, 200])
    with sender_client(webhook) as client:
        (event_id,) = client.post("/admin/run-events/batch", json={"count": 1}).json()["event_ids"]
        status = wait_status(client, acknowledged=1)
    assert status["attempts"] == 4
    assert status["retries"] == 3
    assert webhook.attempts == ["1", "2", "3", "4"]
    assert [e["event_id"] for e in webhook.received] == [event_id]


def test_a_refused_event_is_not_retried(logs: CapturedLogs) -> None:
    webhook = FakeWebhook(answers=[401])
    with sender_client(webhook) as client:
        client.post("/admin/run-events/batch", json={"count": 1})
        status = wait_status(client, rejected=1)
    assert (status["attempts"], status["acknowledged"], status["pending"]) == (1, 0, 0)
    rejected = [e for e in logs.lines() if e["message"] == "run event rejected by the webhook"]
    assert rejected[0]["level"] == "ERROR"


def test_delivery_gives_up_after_its_deadline(logs: CapturedLogs) -> None:
    webhook = FakeWebhook(answers=[503] * 1000)
    with sender_client(webhook, retry_deadline_s=0.2) as client:
        client.post("/admin/run-events/batch", json={"count": 1})
        status = wait_status(client, abandoned=1)
    assert status["pending"] == 0


def test_a_steady_stream_follows_the_configured_rate(logs: CapturedLogs) -> None:
    webhook = FakeWebhook()
    with sender_client(webhook) as client:
        started = client.put("/admin/run-events", json={"rate_per_s": 50, "tenant_id": "acme"})
        assert started.json()["rate_per_s"] == 50
        time.sleep(1.0)
        client.put("/admin/run-events", json={"rate_per_s": 0})
        generated = client.get("/admin/run-events/status").json()["generated"]
        time.sleep(0.3)
        assert client.get("/admin/run-events/status").json()["generated"] == generated
    assert 25 <= generated <= 75


def test_the_configured_stream_takes_its_tenants_in_turn_at_the_same_total_rate(
    logs: CapturedLogs,
) -> None:
    webhook = FakeWebhook()
    tenants = RunEventSettings.from_env({"WRK_RUN_EVENT_TENANT": "tenant-1, tenant-2"}).tenant_ids
    assert tenants == ("tenant-1", "tenant-2")
    with sender_client(webhook, rate_per_s=50, tenant_ids=tenants) as client:
        time.sleep(1.0)
        client.put("/admin/run-events", json={"rate_per_s": 0})
        generated = wait_status(client, pending=0)["generated"]
    assert 25 <= generated <= 75  # the rate is the total, not per tenant
    per_tenant = Counter(e["tenant_id"] for e in webhook.received)
    assert set(per_tenant) == {"tenant-1", "tenant-2"}
    assert abs(per_tenant["tenant-1"] - per_tenant["tenant-2"]) <= 1


def test_run_event_levers_need_a_webhook(client: TestClient) -> None:
    response = client.post("/admin/run-events/batch", json={"count": 1})
    assert (response.status_code, response.json()["error_code"]) == (409, "feature_disabled")
    assert client.put("/admin/run-events", json={"rate_per_s": 1}).status_code == 409
    assert client.get("/admin/run-events/status").json()["generated"] == 0


@pytest.mark.parametrize(
    "body", [{"count": 0}, {"count": 100_001}, {"count": 1, "tenant_id": "a b"}]
)
def test_invalid_batches_are_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/admin/run-events/batch", json=body).status_code == 422


def test_settings_require_a_secret_with_a_url() -> None:
    assert RunEventSettings.from_env({}).webhook_url is None
    with pytest.raises(envvars.ConfigError, match="WRK_WEBHOOK_SECRET"):
        RunEventSettings.from_env({"WRK_WEBHOOK_URL": "http://127.0.0.1:9/x"})
    configured = RunEventSettings.from_env(
        {
            "WRK_WEBHOOK_URL": "http://127.0.0.1:9/x",
            "WRK_WEBHOOK_SECRET": SECRET,
            "WRK_RUN_EVENT_RATE": "2.5",
        }
    )
    assert (configured.rate_per_s, configured.secrets()) == (2.5, {SECRET})
