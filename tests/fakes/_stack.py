"""The fake services as real processes, wired together the way the harness wires them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._processes import ServiceProcess, start_service
from ._spans import read_spans

STUDIO_KEY = "studio-key-stack-7f3a9c21"
ADMIN_KEY = "admin-key-stack-0b8e4d56"
TENANT = "tenant-stack"
API_KEYS = {
    STUDIO_KEY: {"tenant_id": TENANT, "user_id": "user-studio", "scopes": ["studio"]},
    ADMIN_KEY: {"tenant_id": TENANT, "user_id": "user-admin", "scopes": ["admin"]},
}
WEBHOOK_SECRET = "whsec-stack-5d1c0e9a7b3f4e21"

WORKERS = (
    "worker-build",
    "worker-ai-ingestion",
    "worker-notifications",
    "worker-usage-aggregation",
)
# Start order: whatever a service's URL points at starts before it.
ORDER = ("webhook", "platform", "core", "edge", *WORKERS)


@dataclass
class Stack:
    log_dir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def url(self, name: str) -> str:
        return self.services[name].base_url

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()

    def json_lines(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self[name].log_lines() if line.startswith("{")]

    def spans(self) -> list[dict[str, Any]]:
        return read_spans(self.log_dir / "spans.jsonl")


def _env(name: str, stack: Stack, database_url: str, redis_url: str) -> dict[str, str]:
    db = {"WRK_DATABASE_URL": database_url, "WRK_REDIS_URL": redis_url}
    if name == "webhook":
        return {**db, "WRK_WEBHOOK_SECRET": WEBHOOK_SECRET}
    if name == "platform":
        if "webhook" not in stack.services:
            return {}
        webhook = f"{stack.url('webhook')}/v1/webhooks/run-events"
        return {"WRK_WEBHOOK_URL": webhook, "WRK_WEBHOOK_SECRET": WEBHOOK_SECRET}
    if name == "core":
        return {**db, "WRK_PLATFORM_URL": stack.url("platform")}
    if name == "edge":
        return {"WRK_CORE_URL": stack.url("core"), "WRK_API_KEYS": json.dumps(API_KEYS)}
    if name == "worker-build":
        return {**db, "WRK_PLATFORM_URL": stack.url("platform")}
    return db


def start_stack(
    names: Iterable[str],
    database_url: str,
    redis_url: str,
    log_dir: Path,
    *,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    common: Mapping[str, str] | None = None,
    extend: Stack | None = None,
) -> Stack:
    """Start `names` in dependency order (into `extend`, whose services they may point at); on
    any failure stop what this call started and re-raise."""
    wanted = set(names)
    stack = extend if extend is not None else Stack(log_dir)
    base = {"WRK_SPAN_FILE": str(log_dir / "spans.jsonl"), **(common or {})}
    started: list[str] = []
    try:
        for name in (n for n in ORDER if n in wanted):
            env = {**base, **_env(name, stack, database_url, redis_url)}
            env.update((overrides or {}).get(name, {}))
            stack.services[name] = start_service(name, env, log_dir)
            started.append(name)
    except BaseException:
        for name in reversed(started):
            stack.services.pop(name).stop()
        raise
    return stack


def wait_until(
    condition: Callable[[], Any], timeout_s: float, interval_s: float = 0.1, what: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or condition}")
        time.sleep(interval_s)
