"""Admin API: tenants, projects, quotes, clients, feature flags, and the domain gauges."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fake_services import defects
from fake_services.observability import create_telemetry
from fake_services.routes import CORE_ROUTES

from ._core import core_client, fetch, queued, sample
from ._stack import wait_until
from .conftest import CapturedLogs

ADMIN = {"X-Tenant-ID": "t1", "X-User-ID": "admin-1"}


def create(core: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = core.post(path, json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def patch(core: TestClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return core.patch(path, json=body, headers=ADMIN)


def test_tenants(core: TestClient) -> None:
    created = create(core, "/v1/admin/tenants", {"tenant_id": "acme", "name": "Acme"})
    assert created["tenant_id"] == "acme"
    again = core.post("/v1/admin/tenants", json={"tenant_id": "acme", "name": "x"}, headers=ADMIN)
    assert (again.status_code, again.json()["error_code"]) == (409, "already_exists")
    bad = core.post("/v1/admin/tenants", json={"tenant_id": "a b", "name": "x"}, headers=ADMIN)
    assert bad.status_code == 422
    listed = core.get("/v1/admin/tenants", headers=ADMIN).json()["items"]
    assert [t["tenant_id"] for t in listed] == ["acme"]


def test_project_status_transitions(core: TestClient) -> None:
    project = create(core, "/v1/admin/projects", {"name": "Rollout"})
    path = f"/v1/admin/projects/{project['id']}"
    assert project["status"] == "planned"
    assert patch(core, path, {"status": "active"}).json()["status"] == "active"
    assert patch(core, path, {"status": "completed"}).json()["status"] == "completed"
    refused = patch(core, path, {"status": "active"})
    assert (refused.status_code, refused.json()["error_code"]) == (409, "invalid_transition")
    assert patch(core, path, {"status": "unknown"}).status_code == 422
    assert core.get(path, headers={"X-Tenant-ID": "t2"}).status_code == 404
    assert [p["id"] for p in core.get("/v1/admin/projects", headers=ADMIN).json()["items"]] == [
        project["id"]
    ]
    locks = sample(core, "db_lock_wait_time_seconds_count")
    assert locks == 3  # every status change took the row lock, refused ones included


async def hold_row_lock(
    database_url: str, table: str, row_id: str, locked: threading.Event, hold_s: float
) -> None:
    """Lock the row in another transaction, then keep it `hold_s` after someone queues for it."""
    conn = await asyncpg.connect(database_url)
    waiting = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    async def someone_waits() -> None:
        while not await conn.fetchval(waiting):
            await asyncio.sleep(0.01)

    try:
        async with conn.transaction():
            await conn.execute(f"SELECT 1 FROM {table} WHERE id = $1::uuid FOR UPDATE", row_id)
            locked.set()
            await asyncio.wait_for(someone_waits(), 5)
            await asyncio.sleep(hold_s)
    finally:
        await conn.close()


def test_a_status_change_measures_its_wait_for_the_row_lock(
    core: TestClient, database_url: str
) -> None:
    project = create(core, "/v1/admin/projects", {"name": "Contended"})
    locked = threading.Event()
    holding = hold_row_lock(database_url, "projects", project["id"], locked, 0.5)
    with ThreadPoolExecutor(1) as executor:
        holder = executor.submit(asyncio.run, holding)
        assert locked.wait(5)
        changed = patch(core, f"/v1/admin/projects/{project['id']}", {"status": "active"})
        holder.result(10)
    assert changed.status_code == 200
    assert sample(core, "db_lock_wait_time_seconds_count") == 1
    waited = sample(core, "db_lock_wait_time_seconds_sum")
    assert waited is not None and waited >= 0.4
    assert sample(core, "db_lock_wait_time_seconds_bucket", {"le": "0.4"}) == 0


def test_quote_lifecycle_notifies_on_signature(
    core: TestClient, redis_url: str, database_url: str
) -> None:
    quote = create(core, "/v1/admin/quotes", {"title": "Phase 1", "amount_cents": 120000})
    path = f"/v1/admin/quotes/{quote['id']}"
    assert quote["status"] == "draft"
    assert patch(core, path, {"status": "signed"}).status_code == 409  # must be sent first
    assert patch(core, path, {"status": "sent"}).json()["status"] == "sent"
    assert queued(redis_url, "notifications") == []
    assert patch(core, path, {"status": "signed"}).json()["status"] == "signed"
    (notice,) = queued(redis_url, "notifications")
    assert notice.payload == {
        "kind": "quote_signed",
        "resource_type": "quote",
        "resource_id": quote["id"],
    }
    runs = fetch(database_url, "SELECT queue, job_id, status, started_at FROM job_runs")
    assert runs == [
        {"queue": "notifications", "job_id": notice.id, "status": "queued", "started_at": None}
    ]
    assert patch(core, path, {"status": "draft"}).status_code == 409  # signed is final


def test_rejected_quote_can_be_reworked(core: TestClient) -> None:
    quote = create(core, "/v1/admin/quotes", {"title": "Phase 2", "amount_cents": 0})
    path = f"/v1/admin/quotes/{quote['id']}"
    for status in ("sent", "rejected", "draft", "sent"):
        assert patch(core, path, {"status": status}).json()["status"] == status


@pytest.mark.parametrize("amount", [-1, 10**13, "12", 1.5])
def test_quote_amount_is_validated(core: TestClient, amount: object) -> None:
    body = {"title": "x", "amount_cents": amount}
    assert core.post("/v1/admin/quotes", json=body, headers=ADMIN).status_code == 422


def test_top_tier_churn_risk_escalates_once(
    core: TestClient, redis_url: str, logs: CapturedLogs
) -> None:
    client = create(core, "/v1/admin/clients", {"name": "BigCo", "tier": "top"})
    path = f"/v1/admin/clients/{client['id']}"
    assert client["health_status"] == "Healthy"
    assert patch(core, path, {"health_status": "At Risk"}).json()["health_status"] == "At Risk"
    assert queued(redis_url, "notifications") == []
    for _ in range(2):
        response = patch(core, path, {"health_status": "Churn Risk"})
        assert response.json()["health_status"] == "Churn Risk"
    (notice,) = queued(redis_url, "notifications")
    assert notice.payload["kind"] == "client_churn_risk"
    changes = "client_health_changes_total"
    assert sample(core, changes, {"to": "Churn Risk", "tier": "top"}) == 1
    assert sample(core, changes, {"to": "At Risk", "tier": "top"}) == 1
    escalations = [e for e in logs.lines() if "ops escalation" in e["message"]]
    assert len(escalations) == 1
    assert (escalations[0]["level"], escalations[0]["resource_id"]) == ("WARN", client["id"])


def test_standard_client_churn_risk_is_not_escalated(core: TestClient, redis_url: str) -> None:
    client = create(core, "/v1/admin/clients", {"name": "SmallCo"})
    assert client["tier"] == "standard"
    patch(core, f"/v1/admin/clients/{client['id']}", {"health_status": "Churn Risk"})
    assert queued(redis_url, "notifications") == []
    changes = {"to": "Churn Risk", "tier": "standard"}
    assert sample(core, "client_health_changes_total", changes) == 1


@pytest.mark.parametrize(
    "body", [{"name": "x", "tier": "gold"}, {"name": "x", "health_status": "Fine"}, {"name": ""}]
)
def test_client_fields_are_validated(core: TestClient, body: dict[str, Any]) -> None:
    assert core.post("/v1/admin/clients", json=body, headers=ADMIN).status_code == 422


def test_feature_flags_list_set_and_refuse_unknown(core: TestClient) -> None:
    listed = core.get("/v1/admin/feature-flags", headers=ADMIN).json()["items"]
    assert {f["flag"]: f["enabled"] for f in listed} == {
        "wrk_platform_calls": True,
        "ai_ingestion": True,
    }
    off = core.put("/v1/admin/feature-flags/ai_ingestion", json={"enabled": False}, headers=ADMIN)
    assert off.json() == {"flag": "ai_ingestion", "enabled": False, "default": True}
    unknown = core.put("/v1/admin/feature-flags/typo", json={"enabled": False}, headers=ADMIN)
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "not_found")
    assert (
        core.put(
            "/v1/admin/feature-flags/ai_ingestion", json={"enabled": "no"}, headers=ADMIN
        ).status_code
        == 422
    )


def test_a_flag_set_through_one_replica_reaches_another(
    core: TestClient, database_url: str, redis_url: str, platform_app: FastAPI
) -> None:
    replica = core_client(
        database_url,
        redis_url,
        create_telemetry("core", CORE_ROUTES),
        httpx.ASGITransport(platform_app),
    )
    with replica:
        core.put(
            "/v1/admin/feature-flags/wrk_platform_calls", json={"enabled": False}, headers=ADMIN
        )

        def replica_sees_it() -> bool:
            flags = replica.get("/v1/admin/feature-flags", headers=ADMIN).json()["items"]
            return not next(f for f in flags if f["flag"] == "wrk_platform_calls")["enabled"]

        wait_until(replica_sees_it, timeout_s=5, what="the flag change on the replica")
        assert sample(replica, "feature_flag_enabled", {"flag": "wrk_platform_calls"}) == 0


def test_domain_gauges_count_the_database(core: TestClient) -> None:
    for status in ("draft", "sent", "sent"):
        quote = create(core, "/v1/admin/quotes", {"title": "q", "amount_cents": 1})
        if status == "sent":
            patch(core, f"/v1/admin/quotes/{quote['id']}", {"status": "sent"})
    create(core, "/v1/admin/projects", {"name": "p", "status": "active"})
    client = create(core, "/v1/admin/clients", {"name": "c", "tier": "top"})
    patch(core, f"/v1/admin/clients/{client['id']}", {"health_status": "At Risk"})
    automation = core.post("/v1/automations", json={"name": "a"}, headers=ADMIN).json()
    core.post("/v1/automation-versions", json={"automation_id": automation["id"]}, headers=ADMIN)

    expected = {
        ("quotes_by_status", (("status", "sent"),)): 2,
        ("quotes_by_status", (("status", "draft"),)): 1,
        ("quotes_by_status", (("status", "signed"),)): 0,
        ("projects_by_status", (("status", "active"),)): 1,
        ("client_health_status", (("status", "At Risk"), ("tier", "top"))): 1,
        ("client_health_status", (("status", "Healthy"), ("tier", "top"))): 0,
        ("automation_versions_by_status", (("status", "building"),)): 1,
        ("automation_versions_by_status", (("status", "active"),)): 0,
    }

    def gauges_match() -> bool:
        return all(sample(core, name, dict(labels)) == n for (name, labels), n in expected.items())

    wait_until(gauges_match, timeout_s=5, what="domain gauges to reflect the database")


def test_gauges_follow_changes_made_elsewhere(core: TestClient, database_url: str) -> None:
    fetch(
        database_url,
        "INSERT INTO projects (id, tenant_id, name, status)"
        " VALUES (gen_random_uuid(), 'other', 'external', 'on_hold')",
    )
    wait_until(
        lambda: sample(core, "projects_by_status", {"status": "on_hold"}) == 1,
        timeout_s=5,
        what="a row written by another process",
    )


def test_defect_no_feature_flag_lever_answers_404_to_listing_and_setting(core: TestClient) -> None:
    defects.configure({defects.ENV_VAR: "no_feature_flag_lever"})
    try:
        assert core.get("/v1/admin/feature-flags", headers=ADMIN).status_code == 404
        path = "/v1/admin/feature-flags/ai_ingestion"
        put = core.put(path, json={"enabled": False}, headers=ADMIN)
        assert (put.status_code, put.json()["error_code"]) == (404, "not_found")
    finally:
        defects.configure({})
    assert core.get("/v1/admin/feature-flags", headers=ADMIN).status_code == 200
