"""CPU that core spends per request, route by route: where the fakes' throughput goes.

Starts Postgres, Redis, platform and core (the test helpers of tests/fakes) and drives core
directly (no edge, identity headers as the edge sends them) with a small keep-alive client,
one route at a time, and prints core's CPU milliseconds per request and the rate reached. Core's
CPU is read from /proc, so the client's own cost does not count.

    .venv/bin/python benchmarks/fakes_route_cost.py [--requests 1500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fakes_throughput import cpu_s  # noqa: E402
from tests.fakes import _postgres, _redis  # noqa: E402
from tests.fakes._stack import TENANT, start_stack  # noqa: E402

HEADERS = {"X-Tenant-ID": TENANT, "X-User-ID": "user-bench", "content-type": "application/json"}
WARM_UP = 100


@dataclass(frozen=True)
class Ids:
    automation: str
    version: str
    client: str


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: Callable[[Ids], str]
    body: Callable[[int, Ids], dict[str, object]] | None = None


ROUTES = (
    Route("GET /v1/admin/feature-flags", "GET", lambda _: "/v1/admin/feature-flags"),
    Route("GET /v1/automations", "GET", lambda _: "/v1/automations?limit=20"),
    Route("GET /v1/automation-versions/{id}", "GET",
          lambda ids: f"/v1/automation-versions/{ids.version}"),
    Route("POST /v1/admin/quotes", "POST", lambda _: "/v1/admin/quotes",
          lambda i, _: {"title": "bench", "amount_cents": 1000}),
    Route("PATCH /v1/admin/clients/{id}", "PATCH", lambda ids: f"/v1/admin/clients/{ids.client}",
          lambda i, _: {"health_status": "At Risk" if i % 2 else "Healthy"}),
    Route("POST /v1/automation-versions", "POST", lambda _: "/v1/automation-versions",
          lambda i, ids: {"automation_id": ids.automation, "notes": "bench"}),
    Route("POST /v1/automations", "POST", lambda _: "/v1/automations",
          lambda i, _: {"name": f"bench-{i}"}),
)  # fmt: skip


async def _create(client: httpx.AsyncClient, path: str, body: dict[str, object]) -> str:
    response = await client.post(path, json=body)
    response.raise_for_status()
    return str(response.json()["id"])


async def seed(base_url: str) -> Ids:
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS) as client:
        automation = await _create(client, "/v1/automations", {"name": "bench"})
        version = await _create(client, "/v1/automation-versions", {"automation_id": automation})
        customer = await _create(client, "/v1/admin/clients", {"name": "bench", "tier": "top"})
    return Ids(automation, version, customer)


async def drive(base_url: str, route: Route, ids: Ids, count: int, concurrency: int) -> int:
    """Send `count` requests over `concurrency` connections; returns how many failed."""
    limits = httpx.Limits(max_connections=concurrency)
    numbers = iter(range(count))
    failed = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failed
        for i in numbers:
            body = route.body(i, ids) if route.body is not None else None
            content = json.dumps(body).encode() if body is not None else None
            response = await client.request(route.method, route.path(ids), content=content)
            failed += response.status_code >= 400

    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return failed


def measure(base_url: str, core_pid: int, ids: Ids, args: argparse.Namespace) -> None:
    print(f"{'route':<36} {'core CPU ms/req':>16} {'req/s':>8} {'failed':>7}")
    for route in ROUTES:
        if args.only and args.only not in route.name:
            continue
        asyncio.run(drive(base_url, route, ids, WARM_UP, args.concurrency))
        cpu_before, began = cpu_s(core_pid), time.monotonic()
        failed = asyncio.run(drive(base_url, route, ids, args.requests, args.concurrency))
        elapsed, cpu_after = time.monotonic() - began, cpu_s(core_pid)
        per_request = (cpu_after - cpu_before) * 1000 / args.requests
        rate = args.requests / elapsed
        print(f"{route.name:<36} {per_request:>16.3f} {rate:>8.1f} {failed:>7}", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1500, help="per route")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", default="", help="only the routes whose name contains this")
    parser.add_argument("--log-level", default="INFO", help="WRK_LOG_LEVEL of the fakes")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="fakes-route-cost-"))
    pg = _postgres.start_postgres()
    try:
        redis = _redis.start_redis()
        try:
            common = {"WRK_LOG_LEVEL": args.log_level}
            stack = start_stack(
                ("platform", "core"), pg.create_database(), redis.url(), out, common=common
            )
            try:
                ids = asyncio.run(seed(stack.url("core")))
                measure(stack.url("core"), stack["core"].proc.pid, ids, args)
            finally:
                stack.stop()
        finally:
            redis.stop()
    finally:
        pg.stop()
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
