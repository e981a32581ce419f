"""End to end: every fake as a real process, wired as the harness wires them.

One request's request_id and trace_id must appear in the edge's, core's and the build worker's
log lines and spans; a canary sent in payloads and headers must appear in no log line at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ._core import fetch
from ._postgres import Postgres
from ._stack import ADMIN_KEY, ORDER, STUDIO_KEY, WEBHOOK_SECRET, Stack, start_stack, wait_until
from ._webhook import PATH, event, signed
from .conftest import CANARY

pytestmark = pytest.mark.integration

REQUEST_ID = "e2e-version-00000001"


@pytest.fixture(scope="module")
def stack(
    postgres: Postgres, redis_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, str]]:
    log_dir = tmp_path_factory.mktemp("e2e")
    redis_server.flush()
    database_url = postgres.create_database()
    started = start_stack(ORDER, database_url, redis_server.url(), log_dir)
    yield started, database_url
    started.stop()


def studio(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {STUDIO_KEY}", **extra}


def lines_with(stack: Stack, service: str, request_id: str) -> list[dict[str, Any]]:
    return [line for line in stack.json_lines(service) if line.get("request_id") == request_id]


def test_one_request_is_traced_from_the_edge_to_the_worker(stack: tuple[Stack, str]) -> None:
    services, database_url = stack
    with httpx.Client(base_url=services.url("edge"), timeout=10) as edge:
        automation = edge.post("/v1/automations", json={"name": "e2e"}, headers=studio())
        assert automation.status_code == 201, automation.text
        created = edge.post(
            "/v1/automation-versions",
            json={"automation_id": automation.json()["id"]},
            headers=studio(**{"X-Request-ID": REQUEST_ID}),
        )
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == REQUEST_ID
    version_id = created.json()["id"]
    wait_until(
        lambda: (
            fetch(database_url, "SELECT status FROM automation_versions WHERE id = $1", version_id)[
                0
            ]["status"]
            == "active"
        ),
        timeout_s=20,
        what="the build worker to activate the version",
    )
    worker_lines = wait_until(
        lambda: [
            line
            for line in lines_with(services, "worker-build", REQUEST_ID)
            if line["message"] == "job finished"
        ],
        timeout_s=10,
        what="the worker's log line",
    )
    edge_line = lines_with(services, "edge", REQUEST_ID)[-1]
    core_line = next(
        line
        for line in lines_with(services, "core", REQUEST_ID)
        if line["message"] == "request completed"
    )
    trace_id = edge_line["trace_id"]
    assert core_line["trace_id"] == trace_id
    assert worker_lines[0]["trace_id"] == trace_id
    assert (worker_lines[0]["tenant_id"], worker_lines[0]["job_type"]) == (
        "tenant-stack",
        "build_version",
    )
    # The notification the build enqueued carries the same request onward.
    wait_until(lambda: lines_with(services, "worker-notifications", REQUEST_ID), 10)

    def spans_of_the_trace() -> list[dict[str, Any]]:
        return [s for s in services.spans() if s["trace_id"] == trace_id]

    def request_spans(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The edge's and core's server spans of the request, by service."""
        return {
            s["service"]: s
            for s in spans
            if s["kind"] == "SERVER" and s["name"] == "POST /v1/automation-versions"
        }

    def complete(spans: list[dict[str, Any]]) -> bool:
        names = {s["name"] for s in spans}
        hops = {s["service"] for s in spans}
        wanted = {"job build-requests", "enqueue build-requests"}
        return (
            wanted <= names
            and {"edge", "core", "worker-build", "platform"} <= hops
            and {"edge", "core"} <= request_spans(spans).keys()
        )

    spans = wait_until(
        lambda: (found := spans_of_the_trace()) and complete(found) and found,
        timeout_s=10,
        what="spans of every hop in the trace",
    )
    by_id = {s["span_id"]: s for s in spans}
    job_span = next(s for s in spans if s["name"] == "job build-requests")
    assert by_id[job_span["parent_span_id"]]["name"] == "enqueue build-requests"
    assert job_span["attributes"]["request_id"] == REQUEST_ID
    hops = request_spans(spans)
    assert {name: s["attributes"].get("request_id") for name, s in hops.items()} == {
        "edge": REQUEST_ID,
        "core": REQUEST_ID,
    }
    # The outcome row follows the job's last log line: wait for it rather than race it.
    (run,) = wait_until(
        lambda: fetch(
            database_url,
            "SELECT * FROM job_runs WHERE request_id = $1 AND queue = 'build-requests'"
            " AND status <> 'queued' AND status <> 'running'",
            REQUEST_ID,
        ),
        timeout_s=10,
        what="the build job's outcome row",
    )
    assert (run["status"], run["attempts"]) == ("succeeded", 1)
    # The healthy path is fast: the build SLO (5 min, 5 s at time scale 60) is far away.
    assert (run["finished_at"] - run["enqueued_at"]).total_seconds() < 1.0


def test_run_events_flow_from_the_platform_to_usage_aggregates(stack: tuple[Stack, str]) -> None:
    services, database_url = stack
    platform = services.url("platform")
    body = {"count": 5, "tenant_id": "tenant-usage", "automation_ids": ["automation-usage"]}
    ids = httpx.post(f"{platform}/admin/run-events/batch", json=body, timeout=10).json()[
        "event_ids"
    ]
    wait_until(
        lambda: (
            fetch(
                database_url,
                "SELECT run_count FROM usage_aggregates WHERE tenant_id = 'tenant-usage'",
            )
            == [{"run_count": 5}]
        ),
        timeout_s=20,
        what="the usage aggregate",
    )

    # One succeeded usage-aggregation job per event, named by it, well within the SLO (5 min).
    # A job's row is finished after its aggregate update, so wait for all of them.
    def finished_runs() -> list[dict[str, Any]]:
        return fetch(
            database_url,
            "SELECT e.event_id, EXTRACT(EPOCH FROM (j.finished_at - e.received_at))::float8 AS s"
            " FROM run_events e JOIN job_runs j ON j.queue = 'usage-aggregation'"
            " AND j.job_id = e.event_id AND j.status = 'succeeded' WHERE e.event_id = ANY($1)",
            ids,
        )

    runs = wait_until(
        lambda: len(rows := finished_runs()) >= len(ids) and rows,
        timeout_s=20,
        what="a finished usage-aggregation job per event",
    )
    assert {r["event_id"] for r in runs} == set(ids)
    assert max(r["s"] for r in runs) < 30.0
    request_id = f"req-{ids[0]}"
    assert lines_with(services, "webhook", request_id)
    assert lines_with(services, "worker-usage-aggregation", request_id)
    metrics = httpx.get(f"{services.url('worker-usage-aggregation')}/metrics", timeout=10).text
    assert "usage_aggregates_updated_total 5.0" in metrics

    # Each event's trace continues from the webhook's enqueue into the worker's job.
    def spans_by_job(name: str) -> dict[str, dict[str, Any]]:
        return {
            s["attributes"]["job_id"]: s
            for s in services.spans()
            if s["name"] == name and s["attributes"].get("job_id") in ids
        }

    def both_ends() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None:
        enqueues = spans_by_job("enqueue usage-aggregation")
        jobs = spans_by_job("job usage-aggregation")
        return (enqueues, jobs) if len(enqueues) == len(jobs) == len(ids) else None

    enqueues, jobs = wait_until(both_ends, timeout_s=10, what="enqueue and job spans per event")
    for event_id in ids:
        enqueue, job = enqueues[event_id], jobs[event_id]
        assert (enqueue["service"], enqueue["kind"]) == ("webhook", "PRODUCER"), event_id
        assert (job["service"], job["kind"]) == ("worker-usage-aggregation", "CONSUMER"), event_id
        assert job["parent_span_id"] == enqueue["span_id"], event_id
        assert job["trace_id"] == enqueue["trace_id"], event_id


def metrics_of(stack: Stack, name: str) -> str:
    return httpx.get(f"{stack.url(name)}/metrics", timeout=10).text


def test_core_alone_exports_queue_depths_and_the_platform_probe(stack: tuple[Stack, str]) -> None:
    services, _ = stack
    core = wait_until(
        lambda: "wrk_platform_up 1.0" in (text := metrics_of(services, "core")) and text,
        timeout_s=10,
        what="core's probe to find the platform up",
    )
    for queue in ("build-requests", "ai-ingestion", "notifications", "usage-aggregation"):
        assert f'queue_depth{{queue="{queue}"}}' in core
    assert 'wrk_platform_call_duration_seconds_count{call="deactivate_workflow"}' in core
    assert "db_lock_wait_time_seconds_bucket{" in core
    for name in services.services:
        if name != "core":
            assert "queue_depth{" not in metrics_of(services, name), name


CANARY_AUTOMATION = "automation-canary"
# What the canary's requests set off in the background: the version's build and ingestion, the
# notification of its build, and the usage aggregation of its run event.
CANARY_QUEUES = {"build-requests", "ai-ingestion", "notifications", "usage-aggregation"}


def canary_work_done(
    stack: Stack, database_url: str, version_id: str, request_ids: list[str]
) -> bool:
    """Every job of the canary's requests finished and traced, and what they write is there."""
    runs = fetch(
        database_url,
        "SELECT queue, job_id, finished_at FROM job_runs WHERE request_id = ANY($1)",
        request_ids,
    )
    if {r["queue"] for r in runs} != CANARY_QUEUES or any(r["finished_at"] is None for r in runs):
        return False
    traced = {s["attributes"].get("job_id") for s in stack.spans() if s["kind"] == "CONSUMER"}
    ingested = fetch(database_url, "SELECT 1 FROM ai_documents WHERE version_id = $1", version_id)
    aggregated = fetch(
        database_url,
        "SELECT 1 FROM usage_aggregates WHERE automation_id = $1 AND run_count > 0",
        CANARY_AUTOMATION,
    )
    return {r["job_id"] for r in runs} <= traced and bool(ingested) and bool(aggregated)


def test_a_canary_never_reaches_any_log(stack: tuple[Stack, str]) -> None:
    services, database_url = stack
    canary_headers = {"X-Api-Secret": CANARY, "Cookie": f"session={CANARY}", "X-Note": CANARY}
    with httpx.Client(base_url=services.url("edge"), timeout=10) as edge:
        automation = edge.post(
            "/v1/automations", json={"name": f"n-{CANARY}"}, headers=studio(**canary_headers)
        ).json()
        version = edge.post(
            "/v1/automation-versions",
            json={"automation_id": automation["id"], "notes": f"password={CANARY}"},
            headers=studio(**canary_headers),
        )
        assert version.status_code == 201, version.text
        edge.post("/v1/automation-versions", json={"notes": CANARY, "x": CANARY}, headers=studio())
        edge.get("/v1/automations", headers={"Authorization": f"Bearer {CANARY}"})
        admin = {"Authorization": f"Bearer {ADMIN_KEY}", **canary_headers}
        edge.post("/v1/admin/clients", json={"name": CANARY, "tier": "top"}, headers=admin)
        edge.post("/v1/admin/quotes", json={"title": CANARY, "amount_cents": CANARY}, headers=admin)
    webhook = services.url("webhook")
    run_event = event(extra=CANARY, automation_id=CANARY_AUTOMATION)
    body, headers = signed(run_event, secret=WEBHOOK_SECRET)
    stored = httpx.post(f"{webhook}{PATH}", content=body, headers={**headers, "X-Note": CANARY})
    assert stored.status_code == 200, stored.text
    httpx.post(f"{webhook}{PATH}", content=json.dumps({"event_id": CANARY}).encode())
    # The stack is shared: every service logged "service ready" long ago. Scan only once the
    # work the canary set off in the background has logged (and traced) all it will.
    request_ids = [version.headers["x-request-id"], stored.headers["x-request-id"]]
    wait_until(
        lambda: canary_work_done(services, database_url, version.json()["id"], request_ids),
        timeout_s=30,
        what="the canary's build, ingestion, notification and usage aggregation to finish",
    )
    leaks = {
        name: [line for line in service.log_lines() if CANARY in line]
        for name, service in services.services.items()
    }
    assert leaks == {name: [] for name in services.services}
    assert CANARY not in (services.log_dir / "spans.jsonl").read_text()


def test_the_edge_server_does_not_believe_forwarded_headers_unless_told(
    stack: tuple[Stack, str],
) -> None:
    """The edge decides whom to believe (WRK_TRUST_FORWARDED, off here): the HTTP server must
    not rewrite the peer address from X-Forwarded-For before the edge sees it."""
    services, _ = stack
    spoofed = {"Authorization": "Bearer wrong-key-000", "X-Forwarded-For": "10.9.9.9"}
    with httpx.Client(base_url=services.url("edge"), timeout=10) as edge:
        assert edge.get("/v1/automations", headers=spoofed).status_code == 401
        metrics = edge.get("/metrics").text
    failures = [line for line in metrics.splitlines() if line.startswith("auth_failures_total{")]
    assert failures, "no auth failure counted"
    assert not any('source_ip="10.9.9.9"' in line for line in failures), failures
    assert any('source_ip="127.0.0.1"' in line for line in failures), failures
