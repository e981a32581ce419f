"""Run Event Webhook: HMAC accept/reject/replay, idempotency, storage, failures, metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from fake_services import env as envvars
from fake_services.db import DatabaseSettings
from fake_services.observability import ErrorCode, Redactor, ServiceError, create_telemetry
from fake_services.routes import WEBHOOK_ROUTES
from fake_services.webhook import signature
from fake_services.webhook.app import create_app
from fake_services.webhook.events import RunEventStore
from fake_services.webhook.settings import WebhookSettings

from ._core import fetch, queued, sample
from ._processes import free_port
from ._webhook import PATH, SECRET, event, signed
from .conftest import CapturedLogs


def webhook_client(database_url: str, redis_url: str, window_s: float = 300) -> TestClient:
    settings = WebhookSettings(
        DatabaseSettings(database_url, 2.0, 3.0), redis_url, SECRET, window_s
    )
    return TestClient(create_app(settings, create_telemetry("webhook", WEBHOOK_ROUTES)))


@pytest.fixture
def webhook(database_url: str, redis_url: str, logs: CapturedLogs) -> Iterator[TestClient]:
    with webhook_client(database_url, redis_url) as client:
        yield client


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(PATH, content=body, headers=headers)


def stored(database_url: str) -> list[dict[str, Any]]:
    return fetch(database_url, "SELECT * FROM run_events ORDER BY stored_at")


def failures(client: TestClient, reason: str) -> float | None:
    return sample(client, "webhook_failures_total", {"reason": reason})


def test_a_signed_event_is_stored_and_aggregated(
    webhook: TestClient, database_url: str, redis_url: str
) -> None:
    sent = event()
    body, headers = signed(sent)
    response = post(webhook, body, {**headers, "X-Request-ID": "req-webhook-0001"})
    assert response.status_code == 200
    assert response.json() == {"event_id": sent["event_id"], "duplicate": False}
    (row,) = stored(database_url)
    assert row["event_id"] == sent["event_id"]
    assert (row["tenant_id"], row["automation_id"], row["status"]) == (
        "t1",
        "automation-1",
        "succeeded",
    )
    assert row["request_id"] == "req-webhook-0001"
    assert row["received_at"] <= row["stored_at"]
    (job,) = queued(redis_url, "usage-aggregation")
    assert job.kind == "aggregate_usage"
    assert job.id == sent["event_id"]  # one job per event: the usage SLI joins on it
    (run,) = fetch(database_url, "SELECT queue, job_id, request_id, status FROM job_runs")
    assert run == {
        "queue": "usage-aggregation",
        "job_id": job.id,
        "request_id": "req-webhook-0001",
        "status": "queued",
    }
    assert job.payload["event_id"] == sent["event_id"]
    assert job.request_id == "req-webhook-0001"
    assert job.payload["automation_id"] == "automation-1"
    assert job.payload["period"] == sent["occurred_at"][:10]
    assert sample(webhook, "run_events_ingested_total") == 1
    assert sample(webhook, "webhook_event_store_delay_seconds_count") == 1


def test_a_redelivered_event_is_a_duplicate_and_stores_nothing(
    webhook: TestClient, database_url: str, redis_url: str
) -> None:
    sent = event()
    assert post(webhook, *signed(sent)).json()["duplicate"] is False
    again = post(webhook, *signed(sent, attempt=2))
    assert again.status_code == 200
    assert again.json() == {"event_id": sent["event_id"], "duplicate": True}
    assert len(stored(database_url)) == 1
    assert len(queued(redis_url, "usage-aggregation")) == 1
    assert sample(webhook, "run_events_duplicate_total") == 1
    assert sample(webhook, "run_events_ingested_total") == 1


def _without_signature(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {k: v for k, v in headers.items() if k != signature.SIGNATURE_HEADER}


def _tampered(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b"succeeded", b"failed"), headers


def _wrong_secret(body: bytes, _: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return signed(body, secret="another-secret-entirely")


def _garbled_header(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {**headers, signature.SIGNATURE_HEADER: "sha256=not-hex"}


def _no_timestamp(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {k: v for k, v in headers.items() if k != signature.TIMESTAMP_HEADER}


def _other_timestamp(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    ts = int(headers[signature.TIMESTAMP_HEADER]) + 1
    return body, {**headers, signature.TIMESTAMP_HEADER: str(ts)}


@pytest.mark.parametrize(
    ("mangle", "code", "reason"),
    [
        (_without_signature, "webhook_signature_missing", "missing_signature"),
        (_tampered, "webhook_signature_invalid", "invalid_signature"),
        (_wrong_secret, "webhook_signature_invalid", "invalid_signature"),
        (_garbled_header, "webhook_signature_invalid", "invalid_signature"),
        (_no_timestamp, "webhook_signature_invalid", "invalid_signature"),
        (_other_timestamp, "webhook_signature_invalid", "invalid_signature"),
    ],
)
def test_unauthentic_requests_are_401(
    webhook: TestClient, database_url: str, mangle: Any, code: str, reason: str
) -> None:
    response = post(webhook, *mangle(*signed(event())))
    assert (response.status_code, response.json()["error_code"]) == (401, code)
    assert failures(webhook, reason) == 1
    assert stored(database_url) == []


@pytest.mark.parametrize("skew_s", [-301, 301, -(10**9)])
def test_stale_or_future_timestamps_are_replays(
    webhook: TestClient, database_url: str, skew_s: int
) -> None:
    response = post(webhook, *signed(event(), timestamp=int(time.time()) + skew_s))
    assert (response.status_code, response.json()["error_code"]) == (401, "webhook_replayed")
    assert failures(webhook, "replayed") == 1
    assert stored(database_url) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"event_id": "e1"}',
        b"",
        event(status="exploded"),
        event(event_id="has space"),
        event(event_id="x" * 200),
        event(tenant_id="t\u0000"),
        event(occurred_at="2024-01-01T00:00:00"),  # no timezone
        event(occurred_at="0001-01-01T00:00:00+14:00"),
        event(occurred_at="yesterday"),
    ],
)
def test_malformed_events_are_400(webhook: TestClient, database_url: str, body: Any) -> None:
    response = post(webhook, *signed(body))
    assert (response.status_code, response.json()["error_code"]) == (400, "webhook_malformed")
    assert failures(webhook, "malformed") == 1
    assert stored(database_url) == []


def test_an_oversized_body_is_413(webhook: TestClient) -> None:
    response = post(webhook, *signed(event(padding="x" * 70_000)))
    assert (response.status_code, response.json()["error_code"]) == (413, "webhook_malformed")


def test_unknown_fields_are_ignored(webhook: TestClient, database_url: str) -> None:
    assert post(webhook, *signed(event(extra={"nested": [1, 2]}))).status_code == 200
    assert len(stored(database_url)) == 1


def test_database_failure_is_503_and_first_reception_is_kept(
    webhook: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = event()
    original = RunEventStore.store

    async def unavailable(*_: Any, **__: Any) -> None:
        raise ServiceError(ErrorCode.DB_UNAVAILABLE, "database unavailable")

    monkeypatch.setattr(RunEventStore, "store", unavailable)
    first = post(webhook, *signed(sent))
    assert (first.status_code, first.json()["error_code"]) == (503, "db_unavailable")
    assert failures(webhook, "db_unavailable") == 1
    first_seen = time.time()
    time.sleep(1.1)

    monkeypatch.setattr(RunEventStore, "store", original)
    assert post(webhook, *signed(sent, attempt=2)).status_code == 200
    (row,) = stored(database_url)
    assert row["received_at"].timestamp() <= first_seen
    assert (row["stored_at"] - row["received_at"]).total_seconds() >= 1
    delay_sum = sample(webhook, "webhook_event_store_delay_seconds_sum")
    assert delay_sum is not None
    assert delay_sum >= 1


def test_database_timeout_is_504_and_counted_as_a_timeout(
    webhook: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def timed_out(*_: Any, **__: Any) -> None:
        raise ServiceError(ErrorCode.DB_TIMEOUT, "database timed out")

    monkeypatch.setattr(RunEventStore, "store", timed_out)
    assert failures(webhook, "timeout") == 0
    response = post(webhook, *signed(event()))
    assert (response.status_code, response.json()["error_code"]) == (504, "db_timeout")
    assert failures(webhook, "timeout") == 1
    assert failures(webhook, "db_unavailable") == 0
    assert stored(database_url) == []


def test_queue_failure_is_503_and_stores_nothing(database_url: str, logs: CapturedLogs) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with webhook_client(database_url, dead_redis) as client:
        response = post(client, *signed(event()))
        assert (response.status_code, response.json()["error_code"]) == (503, "queue_unavailable")
        assert failures(client, "queue_unavailable") == 1
    assert stored(database_url) == []


def test_secret_and_signatures_never_reach_the_logs(
    webhook: TestClient, logs: CapturedLogs
) -> None:
    logs.configure("webhook", Redactor(frozenset({SECRET})))
    body, headers = signed(event())
    post(webhook, body, headers)
    post(webhook, body, {**headers, signature.SIGNATURE_HEADER: "sha256=" + "0" * 64})
    text = logs.text()
    assert "request completed" in text
    assert SECRET not in text
    assert headers[signature.SIGNATURE_HEADER].removeprefix("sha256=") not in text


def test_settings_require_a_long_secret() -> None:
    base = {"WRK_DATABASE_URL": "postgresql://h/db", "WRK_REDIS_URL": "redis://h:1/0"}
    with pytest.raises(envvars.ConfigError, match="WRK_WEBHOOK_SECRET"):
        WebhookSettings.from_env({**base, "WRK_WEBHOOK_SECRET": "short"})
    with pytest.raises(envvars.ConfigError, match="WRK_WEBHOOK_SECRET"):
        WebhookSettings.from_env(base)
    settings = WebhookSettings.from_env({**base, "WRK_WEBHOOK_SECRET": SECRET})
    assert settings.replay_window_s == 300
    assert SECRET in settings.secrets()


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200), flip=st.integers(min_value=0, max_value=199))
def test_any_change_to_a_signed_body_breaks_the_signature(body: bytes, flip: int) -> None:
    now = int(time.time())
    good = signature.sign(SECRET, now, body)
    signature.verify(SECRET, signature=good, timestamp=str(now), body=body, now=now, window_s=300)
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
        with pytest.raises(signature.SignatureFailure) as caught:
            signature.verify(
                SECRET, signature=good, timestamp=str(now), body=changed, now=now, window_s=300
            )
        assert caught.value.reason == "invalid_signature"
