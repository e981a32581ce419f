"""Locust users for WRK Copilot: Studio reads and writes through the edge.

Run only by `harness.load.runner` in a separate process: importing locust monkey-patches the
whole interpreter (gevent), which the harness process must not suffer. Settings come from
environment variables the runner sets: WRKH_API_KEY, WRKH_MIX (JSON task -> weight),
WRKH_RATE_PER_USER (requests per second per user).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, TaskSet, constant_throughput


def _studio_read(user: WrkUser) -> None:
    user.client.get("/v1/automations", headers=user.auth, name="GET /v1/automations")


def _studio_write(user: WrkUser) -> None:
    body = {"name": f"load-{uuid.uuid4().hex[:12]}"}
    user.client.post("/v1/automations", json=body, headers=user.auth, name="POST /v1/automations")


TASKS = {"studio_read": _studio_read, "studio_write": _studio_write}


def _weighted_tasks() -> list[TaskSet | Callable[..., Any]]:
    mix: dict[str, int] = json.loads(os.environ.get("WRKH_MIX", '{"studio_read": 1}'))
    unknown = sorted(set(mix) - set(TASKS))
    if unknown:
        raise SystemExit(f"WRKH_MIX names unknown tasks {unknown}; known: {sorted(TASKS)}")
    return [TASKS[name] for name, weight in mix.items() for _ in range(weight)]


class WrkUser(FastHttpUser):
    """A Studio user at a constant request rate, so load does not depend on latency."""

    wait_time = constant_throughput(float(os.environ.get("WRKH_RATE_PER_USER", "1")))
    tasks = _weighted_tasks()

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {os.environ.get('WRKH_API_KEY', '')}"}
