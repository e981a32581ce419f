"""Mixed Studio/Admin load on the fakes through the edge, for benchmarks/fakes_throughput.py.

Run by Locust in its own process (gevent patches the whole interpreter). Settings come from the
environment the benchmark sets:

    FAKES_STUDIO_KEY, FAKES_ADMIN_KEY   API keys of the edge
    FAKES_RATE_PER_USER                 requests per second per user (0: as fast as possible)
    FAKES_ARRIVALS                      poisson or paced: how a user spaces its requests
    FAKES_STARTS                        a file to write each request's start time to, one a line
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable
from typing import Any

from arrivals import PoissonSchedule  # Locust puts the locustfile's folder on sys.path
from locust import FastHttpUser, User, between, constant_throughput, events, task

STUDIO = {"Authorization": f"Bearer {os.environ.get('FAKES_STUDIO_KEY', '')}"}
ADMIN = {"Authorization": f"Bearer {os.environ.get('FAKES_ADMIN_KEY', '')}"}
RATE = float(os.environ.get("FAKES_RATE_PER_USER", "0"))
ARRIVALS = os.environ.get("FAKES_ARRIVALS", "poisson")
STARTS = os.environ.get("FAKES_STARTS", "")
_starts: list[float] = []


def poisson_arrivals(rate: float) -> Callable[[User], float]:
    """A Locust wait_time under which each user's starts form a Poisson process of `rate`."""

    def wait_time(user: User) -> float:
        schedule = user.__dict__.get("_arrivals")
        if schedule is None:
            schedule = user.__dict__["_arrivals"] = PoissonSchedule(rate)
        return schedule.wait()

    return wait_time


def _wait_time() -> Callable[[User], float]:
    if RATE <= 0:
        return between(0, 0)
    if ARRIVALS == "paced":
        return constant_throughput(RATE)
    if ARRIVALS == "poisson":
        return poisson_arrivals(RATE)
    raise SystemExit(f"FAKES_ARRIVALS: {ARRIVALS!r} is neither 'poisson' nor 'paced'")


def _id(response: object) -> str | None:
    try:
        value = response.json().get("id")  # type: ignore[attr-defined]
    except ValueError:
        return None
    return value if isinstance(value, str) else None


class StudioAndAdmin(FastHttpUser):
    """Reads dominate, as in a UI; writes exercise the database, the queue and the platform."""

    wait_time = _wait_time()

    def on_start(self) -> None:
        # API clients keep no cookies and the fakes set none: without a jar, Locust skips a
        # cookie pass per request (about 7 % of its CPU), CPU the fakes share on this machine.
        self.client.client.cookiejar = None
        automation = self.client.post(
            "/v1/automations", json={"name": "bench"}, headers=STUDIO, name="POST /v1/automations"
        )
        self.automation_id = _id(automation)
        version = self.client.post(
            "/v1/automation-versions",
            json={"automation_id": self.automation_id},
            headers=STUDIO,
            name="POST /v1/automation-versions",
        )
        self.version_id = _id(version)
        client = self.client.post(
            "/v1/admin/clients", json={"name": "bench", "tier": "top"}, headers=ADMIN,
            name="POST /v1/admin/clients",
        )  # fmt: skip
        self.client_id = _id(client)

    @task(6)
    def list_automations(self) -> None:
        self.client.get("/v1/automations?limit=20", headers=STUDIO, name="GET /v1/automations")

    @task(4)
    def get_version(self) -> None:
        self.client.get(
            f"/v1/automation-versions/{self.version_id}",
            headers=STUDIO,
            name="GET /v1/automation-versions/{version_id}",
        )

    @task(3)
    def list_versions(self) -> None:
        self.client.get(
            f"/v1/automation-versions?automation_id={self.automation_id}&limit=10",
            headers=STUDIO,
            name="GET /v1/automation-versions",
        )

    @task(2)
    def create_version(self) -> None:
        self.client.post(
            "/v1/automation-versions",
            json={"automation_id": self.automation_id, "notes": "bench"},
            headers=STUDIO,
            name="POST /v1/automation-versions",
        )

    @task(1)
    def create_automation(self) -> None:
        self.client.post(
            "/v1/automations",
            json={"name": f"bench-{uuid.uuid4().hex[:8]}"},
            headers=STUDIO,
            name="POST /v1/automations",
        )

    @task(2)
    def list_quotes(self) -> None:
        self.client.get("/v1/admin/quotes?limit=20", headers=ADMIN, name="GET /v1/admin/quotes")

    @task(1)
    def create_quote(self) -> None:
        self.client.post(
            "/v1/admin/quotes",
            json={"title": "bench", "amount_cents": 1000},
            headers=ADMIN,
            name="POST /v1/admin/quotes",
        )

    @task(1)
    def change_client_health(self) -> None:
        status = random.choice(["Healthy", "At Risk", "Healthy"])
        self.client.patch(
            f"/v1/admin/clients/{self.client_id}",
            json={"health_status": status},
            headers=ADMIN,
            name="PATCH /v1/admin/clients/{client_id}",
        )

    @task(1)
    def feature_flags(self) -> None:
        self.client.get(
            "/v1/admin/feature-flags", headers=ADMIN, name="GET /v1/admin/feature-flags"
        )


if STARTS:

    @events.request.add_listener
    def _record_start(start_time: float, **_: Any) -> None:
        _starts.append(start_time)

    @events.quitting.add_listener
    def _write_starts(**_: Any) -> None:
        with open(STARTS, "w") as out:
            out.writelines(f"{start}\n" for start in _starts)
