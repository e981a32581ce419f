"""A worker killed mid-job loses nothing: another worker reclaims the job and finishes it once."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._core import fetch
from ._postgres import Postgres
from ._processes import ServiceProcess, start_service, stop_group
from ._stack import STUDIO_KEY, Stack, start_stack, wait_until

pytestmark = pytest.mark.integration

LEASE_S = "2"


@pytest.fixture
def stack(postgres: Postgres, redis_url: str, tmp_path: Path) -> Iterator[tuple[Stack, str]]:
    database_url = postgres.create_database()
    started = start_stack(["platform", "core", "edge"], database_url, redis_url, tmp_path)
    yield started, database_url
    started.stop()


def start_worker(stack: Stack, database_url: str, redis_url: str, name: str) -> ServiceProcess:
    env = {
        "WRK_DATABASE_URL": database_url,
        "WRK_REDIS_URL": redis_url,
        "WRK_PLATFORM_URL": stack.url("platform"),
        "WRK_PLATFORM_TIMEOUT_S": "30",
        "WRK_WORKER_LEASE_S": LEASE_S,
        "WRK_WORKER_CONCURRENCY": "1",
    }
    worker = start_service("worker-build", env, stack.log_dir / name)
    stack.services[name] = worker
    return worker


def json_lines(worker: ServiceProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in worker.log_lines() if line.startswith("{")]


def messages(worker: ServiceProcess, job_id: str) -> list[str]:
    return [line["message"] for line in json_lines(worker) if line.get("job_id") == job_id]


def test_a_job_survives_the_death_of_its_worker(stack: tuple[Stack, str], redis_url: str) -> None:
    services, database_url = stack
    (services.log_dir / "a").mkdir()
    (services.log_dir / "b").mkdir()
    platform = services.url("platform")
    with httpx.Client(base_url=services.url("edge"), timeout=10) as edge:
        headers = {"Authorization": f"Bearer {STUDIO_KEY}"}
        automation = edge.post("/v1/automations", json={"name": "r"}, headers=headers).json()
        version = edge.post(
            "/v1/automation-versions", json={"automation_id": automation["id"]}, headers=headers
        ).json()
    # The platform answers slowly, so the job is still running when its worker dies.
    faults = {"mode": "slow_body", "ratio": 1.0, "delay_ms": 60_000}
    httpx.put(f"{platform}/admin/faults", json=faults, timeout=5).raise_for_status()

    first = start_worker(services, database_url, redis_url, "a")
    started = wait_until(
        lambda: [line for line in json_lines(first) if line["message"] == "job started"],
        timeout_s=15,
        what="the first worker to take the job",
    )
    job_id = started[0]["job_id"]
    wait_until(
        lambda: httpx.get(f"{platform}/admin/workflows", timeout=5).json()["total"] == 2,
        timeout_s=10,
        what="the first worker to be inside its platform call",
    )
    stop_group(first.proc, signal.SIGKILL)  # no goodbye: the job stays in its processing list
    httpx.put(f"{platform}/admin/faults", json={"mode": "none"}, timeout=5).raise_for_status()
    second = start_worker(services, database_url, redis_url, "b")

    # The outcome row is written after the worker logs "job finished" (the version turns active
    # earlier, before the worker's last log line and its notification enqueue).
    (run,) = wait_until(
        lambda: fetch(
            database_url,
            "SELECT * FROM job_runs WHERE job_id = $1 AND status = 'succeeded'",
            job_id,
        ),
        timeout_s=30,
        what="the second worker to finish the build",
    )
    assert run["attempts"] == 2  # two deliveries, one completion
    (built,) = fetch(
        database_url, "SELECT status FROM automation_versions WHERE id = $1", version["id"]
    )
    assert built["status"] == "active"
    assert messages(first, job_id) == ["job started"]
    assert messages(second, job_id).count("job finished") == 1
    reclaimed = [
        line for line in json_lines(second) if line["message"] == "reclaimed jobs of a dead worker"
    ]
    assert reclaimed and reclaimed[0]["jobs"] == 1
    workflows = httpx.get(f"{platform}/admin/workflows", timeout=5).json()
    # The automation's workflow and the version's, each under its own key: the killed worker's
    # create, delivered twice, made no second workflow.
    assert (workflows["total"], workflows["idempotency_keys"]) == (2, 2)
