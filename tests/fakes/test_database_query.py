"""`Database.query` against a real Postgres: each query is traced and timed, driver failures
become db_timeout / db_unavailable, and other errors pass through unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from fake_services.db import Database, open_pool
from fake_services.observability import DbMetrics, ErrorCode, ServiceError
from fake_services.observability.tracing import create_tracing

from . import _postgres
from .conftest import CapturedLogs

Body = Callable[[Database, CollectorRegistry], Awaitable[None]]


def run(postgres: _postgres.Postgres, tmp_path: Path, body: Body) -> list[dict[str, Any]]:
    """Run `body` with a Database (statement timeout 0.3 s); the spans it wrote."""
    tracing = create_tracing("core", tmp_path / "spans.jsonl")
    registry = CollectorRegistry()
    metrics = DbMetrics(registry)

    async def main() -> None:
        pool = await open_pool(postgres.admin_url, 0.3, 5.0, "test")
        db = Database(pool, 0.3, tracing.tracer, metrics)
        try:
            await body(db, registry)
        finally:
            await db.close()

    asyncio.run(main())
    tracing.shutdown()
    path = tmp_path / "spans.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def count(registry: CollectorRegistry, operation: str, table: str) -> float | None:
    labels = {"operation": operation, "table": table}
    value: float | None = registry.get_sample_value("db_query_duration_seconds_count", labels)
    return value


def test_a_query_is_traced_and_timed(postgres: _postgres.Postgres, tmp_path: Path) -> None:
    async def body(db: Database, registry: CollectorRegistry) -> None:
        with db.tracer.start_as_current_span("GET /v1/things", kind=SpanKind.SERVER):
            async with db.query("select", "things") as conn:
                assert await conn.fetchval("SELECT 41 + 1") == 42
        assert count(registry, "select", "things") == 1

    query, server = run(postgres, tmp_path, body)
    assert query["name"] == "db select things"
    assert query["kind"] == "CLIENT"
    assert query["parent_span_id"] == server["span_id"]
    assert query["attributes"] == {
        "db.system": "postgresql",
        "db.operation": "select",
        "db.table": "things",
    }
    assert query["status"] == "UNSET"


def test_a_statement_over_the_timeout_is_db_timeout(
    postgres: _postgres.Postgres, tmp_path: Path, logs: CapturedLogs
) -> None:
    async def body(db: Database, registry: CollectorRegistry) -> None:
        with pytest.raises(ServiceError) as raised:
            async with db.query("select", "slow") as conn:
                await conn.execute("SELECT pg_sleep(2)")
        assert raised.value.code is ErrorCode.DB_TIMEOUT
        assert raised.value.status == 504
        assert count(registry, "select", "slow") == 1
        # The pool still serves: the timed-out connection was replaced, not handed out again.
        async with db.query("select", "after") as conn:
            assert await conn.fetchval("SELECT 1") == 1

    spans = run(postgres, tmp_path, body)
    assert [(s["name"], s["status"]) for s in spans] == [
        ("db select slow", "ERROR"),
        ("db select after", "UNSET"),
    ]
    logged = [line for line in logs.lines() if line.get("error_code") == "db_timeout"]
    assert [line["message"] for line in logged] == ["database timed out"]


def test_a_closed_pool_is_db_unavailable(postgres: _postgres.Postgres, tmp_path: Path) -> None:
    async def body(db: Database, registry: CollectorRegistry) -> None:
        await db.pool.close()
        with pytest.raises(ServiceError) as raised:
            async with db.query("insert", "things"):
                pass
        assert raised.value.code is ErrorCode.DB_UNAVAILABLE
        assert count(registry, "insert", "things") == 1

    (span,) = run(postgres, tmp_path, body)
    assert (span["name"], span["status"]) == ("db insert things", "ERROR")


def test_other_errors_pass_through_unchanged(postgres: _postgres.Postgres, tmp_path: Path) -> None:
    async def body(db: Database, registry: CollectorRegistry) -> None:
        with pytest.raises(ServiceError) as raised:
            async with db.query("select", "things") as conn:
                await conn.fetchval("SELECT 1")
                raise ServiceError(ErrorCode.NOT_FOUND, "thing not found")
        assert raised.value.code is ErrorCode.NOT_FOUND
        assert db.pool.get_idle_size() >= 1  # the healthy connection went back

    (span,) = run(postgres, tmp_path, body)
    assert span["status"] == "ERROR"
