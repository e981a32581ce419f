"""Locust users for WRK Copilot: Studio, Admin, and misbehaving clients.

Run only by `harness.load.runner` in a separate process: importing locust monkey-patches the
whole interpreter (gevent), which the harness process must not suffer. Settings come from the
environment the runner sets (a locustfile's user classes are built at import time):

    WRKH_API_KEY         the run's API key (Authorization: Bearer ...)
    WRKH_API_KEYS        every tenant's key, comma-separated: user N takes key N modulo their
                         number, so the load comes from every tenant at the same total rate
    WRKH_CANARY          a secret-looking value sent in every request; no log may contain it
    WRKH_SOURCE_IP       the X-Forwarded-For address of brute-force load
    WRKH_MIX             JSON task name -> weight
    WRKH_RATE_PER_USER   requests per second per user
    WRKH_SPAWNED_FILE    written once every user runs (see the end of this file)
    WRKH_SIGNATURES_FILE each webhook signature this load sends is appended to it, so the
                         leak check can search the logs for what the run itself signed
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from locust import FastHttpUser, TaskSet, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.load.pacing import Beat


def _headers(user: WrkUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.api_key}", "X-Client-Secret": user.canary}


def _studio_read(user: WrkUser) -> None:
    user.client.get("/v1/automations", headers=_headers(user), name="GET /v1/automations")


def _studio_write(user: WrkUser) -> None:
    body = {"name": f"load-{uuid.uuid4().hex[:12]}", "password": user.canary}
    user.client.post(
        "/v1/automations", json=body, headers=_headers(user), name="POST /v1/automations"
    )


def _version_write(user: WrkUser) -> None:
    if user.automation_id is None:
        user.automation_id = _create_automation(user)
        if user.automation_id is None:
            return
    body = {"automation_id": user.automation_id, "notes": "load"}
    user.client.post(
        "/v1/automation-versions", json=body, headers=_headers(user),
        name="POST /v1/automation-versions",
    )  # fmt: skip


def _version_archive(user: WrkUser) -> None:
    """Archives the version this user created on its previous turn (built by now, so core
    deactivates its workflow on the WRK Platform), then creates the next one (a build). A
    failed archive is retried on the next turn, so deactivations go on while the platform
    fails (a new version would not be built then, and would need no deactivation)."""
    if user.version_id is not None:
        resp = user.client.patch(
            f"/v1/automation-versions/{user.version_id}", json={"status": "archived"},
            headers=_headers(user), name="PATCH /v1/automation-versions/{version_id}",
        )  # fmt: skip
        if resp.status_code >= 500:  # the deactivation failed: try the same version again
            return
        user.version_id = None
    if user.automation_id is None:
        user.automation_id = _create_automation(user)
        if user.automation_id is None:
            return
    body = {"automation_id": user.automation_id, "notes": "archived next"}
    with user.client.post(
        "/v1/automation-versions", json=body, headers=_headers(user),
        name="POST /v1/automation-versions", catch_response=True,
    ) as resp:  # fmt: skip
        if resp.status_code == 201:
            user.version_id = str(resp.json()["id"])
        else:
            resp.failure(f"could not create a version: {resp.status_code}")


def _create_automation(user: WrkUser) -> str | None:
    with user.client.post(
        "/v1/automations", json={"name": f"versions-{uuid.uuid4().hex[:8]}"},
        headers=_headers(user), name="POST /v1/automations", catch_response=True,
    ) as resp:  # fmt: skip
        if resp.status_code != 201:
            resp.failure(f"could not create an automation: {resp.status_code}")
            return None
        created: dict[str, Any] = resp.json()
        return str(created["id"])


def _admin_read(user: WrkUser) -> None:
    user.client.get("/v1/admin/clients", headers=_headers(user), name="GET /v1/admin/clients")


def _admin_write(user: WrkUser) -> None:
    body = {"title": f"quote-{uuid.uuid4().hex[:8]}", "amount_cents": 125_000}
    user.client.post(
        "/v1/admin/quotes", json=body, headers=_headers(user), name="POST /v1/admin/quotes"
    )


def _quote_sign(user: WrkUser) -> None:
    """A quote goes draft → sent → signed; signing enqueues a notification (spec §3.3)."""
    body = {"title": f"deal-{uuid.uuid4().hex[:8]}", "amount_cents": 990_000}
    with user.client.post(
        "/v1/admin/quotes", json=body, headers=_headers(user), name="POST /v1/admin/quotes",
        catch_response=True,
    ) as resp:  # fmt: skip
        if resp.status_code != 201:
            resp.failure(f"could not create a quote: {resp.status_code}")
            return
        quote_id = resp.json()["id"]
    for status in ("sent", "signed"):
        user.client.patch(
            f"/v1/admin/quotes/{quote_id}", json={"status": status}, headers=_headers(user),
            name="PATCH /v1/admin/quotes/{quote_id}",
        )  # fmt: skip


def _bad_key(user: WrkUser) -> None:
    headers = {"Authorization": "Bearer wrk_not_a_key", "X-Forwarded-For": user.source_ip}
    with user.client.get(
        "/v1/automations", headers=headers, name="GET /v1/automations (bad key)",
        catch_response=True,
    ) as resp:  # fmt: skip
        _expect(resp, 401)


def _webhook_bad_signature(user: WrkUser) -> None:
    event = {
        "event_id": f"evt-{uuid.uuid4().hex}", "tenant_id": "tenant-1",
        "automation_id": "auto-load", "status": "succeeded",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip
    body = json.dumps(event).encode()
    ts = str(int(time.time()))
    wrong = hmac.new(b"not-the-secret", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    _record_signature(wrong)
    headers = {
        "Content-Type": "application/json", "X-WRK-Timestamp": ts,
        "X-WRK-Signature": f"sha256={wrong}", "X-Client-Secret": user.canary,
    }  # fmt: skip
    with user.client.post(
        "/v1/webhooks/run-events", data=body.decode(), headers=headers,
        name="POST /v1/webhooks/run-events (bad signature)", catch_response=True,
    ) as resp:  # fmt: skip
        _expect(resp, 401)


def _record_signature(digest: str) -> None:
    path = os.environ.get("WRKH_SIGNATURES_FILE")
    if path:
        with open(path, "a") as sent:
            sent.write(digest + "\n")


def _expect(resp: Any, status: int) -> None:
    """Misbehaving clients succeed when the service refuses them as it should."""
    if resp.status_code == status:
        resp.success()
    else:
        resp.failure(f"expected {status}, got {resp.status_code}")


TASKS: dict[str, Callable[[WrkUser], None]] = {
    "studio_read": _studio_read,
    "studio_write": _studio_write,
    "version_write": _version_write,
    "version_archive": _version_archive,
    "admin_read": _admin_read,
    "admin_write": _admin_write,
    "quote_sign": _quote_sign,
    "bad_key": _bad_key,
    "webhook_bad_signature": _webhook_bad_signature,
}


def _weighted_tasks() -> list[TaskSet | Callable[..., Any]]:
    mix: dict[str, int] = json.loads(os.environ.get("WRKH_MIX", '{"studio_read": 1}'))
    unknown = sorted(set(mix) - set(TASKS))
    if unknown:
        raise SystemExit(f"WRKH_MIX names unknown tasks {unknown}; known: {sorted(TASKS)}")
    return [TASKS[name] for name, weight in mix.items() for _ in range(weight)]


RATE_PER_USER = float(os.environ.get("WRKH_RATE_PER_USER", "1"))
# Users of this process in the order they start. In distributed mode each worker spreads its
# own users; two workers' beats are apart by however far apart they started.
_SLOTS = itertools.count()


class WrkUser(FastHttpUser):
    """A client at a constant request rate, so the load does not depend on latency, on its own
    beat within the period, so the users' requests do not arrive together."""

    tasks = _weighted_tasks()

    def on_start(self) -> None:
        slot = next(_SLOTS)
        keys = [k for k in os.environ.get("WRKH_API_KEYS", "").split(",") if k]
        self.api_key = keys[slot % len(keys)] if keys else os.environ.get("WRKH_API_KEY", "")
        self.canary = os.environ.get("WRKH_CANARY", "")
        self.source_ip = os.environ.get("WRKH_SOURCE_IP", "203.0.113.7")
        self.automation_id: str | None = None
        self.version_id: str | None = None  # created, to be archived next (version_archive)
        runner = self.environment.runner
        users = runner.target_user_count if runner is not None else 1
        self.beat = Beat(RATE_PER_USER, slot, max(1, users))
        time.sleep(self.beat.first_wait())  # gevent's sleep: Locust has patched the process

    def wait_time(self) -> float:
        return self.beat.wait()


# -- distributed mode: every worker's last statistics reach the master ---------------------
#
# On SIGTERM Locust's master tells its workers to quit and waits a fixed 0.5 s for their last
# reports before writing the CSV; on a busy machine a worker's last report (up to 3 s of
# requests) misses that window. So when the master begins to quit, it first asks each worker
# to stop its users and report, and waits (bounded) until each has answered. Messages on one
# worker's connection arrive in order: its statistics are in before its answer. Kept in this
# file so every worker that loads the locustfile has it too.

FLUSH, FLUSHED = "wrkh_flush", "wrkh_flushed"
FLUSH_WAIT_S = 5.0  # within LoadRun.stop()'s 10 s before SIGKILL


def _final_reports(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        answered: set[str] = set()
        runner.register_message(FLUSHED, lambda msg, **_: answered.add(msg.node_id))
        # Registered after Locust's own listeners: `quitting` fires in reverse, so this is first.
        hooks: Any = environment.events  # Locust's event hooks are untyped
        hooks.quitting.add_listener(lambda **_: _flush_workers(runner, answered))
    elif isinstance(runner, WorkerRunner):
        runner.register_message(FLUSH, lambda **_: _report_and_answer(runner), concurrent=True)


def _flush_workers(runner: MasterRunner, answered: set[str]) -> None:
    workers = [client.id for client in runner.clients.all]
    for worker in workers:
        runner.send_message(FLUSH, client_id=worker)
    deadline = time.monotonic() + FLUSH_WAIT_S
    while not answered.issuperset(workers) and time.monotonic() < deadline:
        time.sleep(0.05)  # gevent's sleep: Locust has monkey-patched the process


def _report_and_answer(runner: WorkerRunner) -> None:
    runner.stop()  # no request may start after the report
    data: dict[str, Any] = {}
    hooks: Any = runner.environment.events
    hooks.report_to_master.fire(client_id=runner.client_id, data=data)
    runner.send_message("stats", data)
    runner.send_message(FLUSHED)


# -- when the load really runs --------------------------------------------------------------
# Starting Locust (importing it alone) takes seconds on a busy machine. The harness times a
# scenario's warm-up, and an extra-load fault's start, from when every user runs: it waits for
# this file, which the process it starts (the master in distributed mode) writes once spawned.
SPAWNED_FILE_ENV = "WRKH_SPAWNED_FILE"


def _announce_spawned(user_count: int, **_: Any) -> None:
    path = os.environ.get(SPAWNED_FILE_ENV)
    if path:
        with open(path, "w") as marker:
            marker.write(f"{user_count}\n")


_hooks: Any = events
_hooks.init.add_listener(_final_reports)
_hooks.spawning_complete.add_listener(_announce_spawned)
