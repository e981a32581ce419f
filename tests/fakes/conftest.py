"""Fixtures of the fakes' tests: captured JSON logs, a throwaway Postgres, telemetry."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fake_services.observability import Redactor, Telemetry, configure_logging, create_telemetry
from fake_services.platform.app import create_app as create_platform_app
from fake_services.routes import CORE_ROUTES, PLATFORM_ROUTES

from . import _postgres, _redis, _toxiproxy
from ._core import core_client

CANARY = "canary-Zx9Qw7Lk3"


@dataclass
class CapturedLogs:
    stream: io.StringIO

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def text(self) -> str:
        return self.stream.getvalue()

    def configure(self, service: str, redactor: Redactor) -> None:
        configure_logging(service, redactor, stream=self.stream)


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """JSON logs of code under test, written to a buffer; the canary is a configured secret."""
    captured = CapturedLogs(io.StringIO())
    root_level = logging.getLogger().level
    handler = configure_logging("test", Redactor(frozenset({CANARY})), stream=captured.stream)
    yield captured
    logging.getLogger().setLevel(root_level)
    for h in list(logging.getLogger().handlers):
        if h is handler or getattr(h, "stream", None) is captured.stream:
            logging.getLogger().removeHandler(h)


@pytest.fixture
def core_telemetry() -> Telemetry:
    return create_telemetry("core", CORE_ROUTES)


@pytest.fixture
def platform_telemetry() -> Telemetry:
    return create_telemetry("platform", PLATFORM_ROUTES)


@pytest.fixture(scope="session")
def postgres() -> Iterator[_postgres.Postgres]:
    if not _postgres.available():
        pytest.skip("PostgreSQL 15 binaries not installed")
    pg = _postgres.start_postgres()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def shared_database_url(postgres: _postgres.Postgres) -> str:
    return postgres.create_migrated_database()


@pytest.fixture
def database_url(shared_database_url: str) -> str:
    """The migrated test database, emptied for this test (tests run one at a time)."""
    _postgres.truncate_all(shared_database_url)
    return shared_database_url


@pytest.fixture
def empty_database_url(postgres: _postgres.Postgres) -> str:
    """A fresh database without any schema (for migration tests)."""
    return postgres.create_database()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[_redis.Redis]:
    if not _redis.available():
        pytest.skip("redis-server not installed")
    server = _redis.start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: _redis.Redis) -> str:
    """The test Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url()


@pytest.fixture
def platform_app(platform_telemetry: Telemetry) -> FastAPI:
    """The fake WRK Platform in-process; tests reach its store and faults via app.state."""
    return create_platform_app(platform_telemetry)


@pytest.fixture
def core(
    database_url: str,
    redis_url: str,
    core_telemetry: Telemetry,
    platform_app: FastAPI,
    logs: CapturedLogs,
) -> Iterator[TestClient]:
    """Core in-process against a real Postgres and Redis, the platform behind ASGI."""
    transport = httpx.ASGITransport(platform_app)
    with core_client(database_url, redis_url, core_telemetry, transport) as client:
        yield client


@pytest.fixture
def toxiproxy(tmp_path: Path) -> Iterator[_toxiproxy.Toxiproxy]:
    if not _toxiproxy.available():
        pytest.skip("toxiproxy-server not built (tools/bin)")
    server = _toxiproxy.start_toxiproxy(tmp_path)
    yield server
    server.stop()
