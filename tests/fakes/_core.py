"""Core in-process for tests: settings, a client, and direct database/Redis access."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import httpx
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fake_services.core.app import create_app
from fake_services.core.settings import CoreSettings
from fake_services.db import DatabaseSettings
from fake_services.observability import Telemetry
from fake_services.queue import Job

STUDIO = {"X-Tenant-ID": "t1", "X-User-ID": "u1"}


def settings_for(
    database_url: str,
    redis_url: str,
    *,
    platform_url: str = "http://platform.invalid",
    platform_timeout_s: float = 2.0,
    db_timeout_s: float = 2.0,
    db_deadline_s: float = 3.0,
    refresh_interval_s: float = 0.2,
) -> CoreSettings:
    database = DatabaseSettings(database_url, db_timeout_s, db_deadline_s)
    return CoreSettings(database, platform_url, redis_url, platform_timeout_s, refresh_interval_s)


def core_client(
    database_url: str, redis_url: str, telemetry: Telemetry, transport: httpx.AsyncBaseTransport
) -> TestClient:
    return TestClient(create_app(settings_for(database_url, redis_url), telemetry, transport))


def sample(client: TestClient, name: str, labels: dict[str, str] | None = None) -> float | None:
    app = client.app
    assert isinstance(app, FastAPI)
    value: float | None = app.state.telemetry.registry.get_sample_value(name, labels or {})
    return value


def fetch(database_url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def queued(redis_url: str, queue: str) -> list[Job]:
    """Jobs waiting in `queue`, oldest first."""
    with redis.Redis.from_url(redis_url) as client:
        raws = client.lrange(queue, 0, -1)
    return [Job.decode(raw) for raw in reversed(raws)]


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def assert_create_fails_on_the_platform(client: TestClient, status: int, code: str) -> None:
    """Creating an automation answers `status` with `code`, counts one failed platform call
    and leaves no row behind."""
    response = client.post("/v1/automations", json={"name": "a"}, headers=STUDIO)
    assert (response.status_code, response.json()["error_code"]) == (status, code)
    labels = {"call": "create_workflow", "outcome": "failure"}
    assert sample(client, "wrk_platform_calls_total", labels) == 1.0
    assert client.get("/v1/automations", headers=STUDIO).json()["items"] == []
