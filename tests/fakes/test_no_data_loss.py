"""No run event is lost when Postgres is cut off: the acceptance test of the webhook design.

Postgres sits behind Toxiproxy. While the proxy is disabled for 20 s the platform keeps sending
signed events; the webhook answers 503 and the platform retries each with the same event_id.
After recovery exactly the events sent are stored, each once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from . import _toxiproxy
from ._core import fetch, queued
from ._postgres import Postgres
from ._stack import Stack, start_stack, wait_until

pytestmark = pytest.mark.integration

OUTAGE_S = 20
BATCHES_DURING_OUTAGE = 5
EVENTS_PER_BATCH = 20


@pytest.fixture
def stack(
    postgres: Postgres, redis_url: str, toxiproxy: _toxiproxy.Toxiproxy, tmp_path: Path
) -> Iterator[tuple[Stack, str]]:
    database_url = postgres.create_database()
    proxy_port = toxiproxy.create_proxy("postgres", postgres.port)
    proxied_url = database_url.replace(f":{postgres.port}/", f":{proxy_port}/")
    started = start_stack(
        ["webhook", "platform"],
        database_url,
        redis_url,
        tmp_path,
        overrides={
            "webhook": {"WRK_DATABASE_URL": proxied_url, "WRK_DB_TIMEOUT_S": "1"},
            "platform": {"WRK_WEBHOOK_RETRY_MAX_S": "2"},
        },
    )
    yield started, database_url
    started.stop()


def send_batch(platform: str, count: int) -> list[str]:
    response = httpx.post(f"{platform}/admin/run-events/batch", json={"count": count}, timeout=10)
    response.raise_for_status()
    ids: list[str] = response.json()["event_ids"]
    return ids


def sender_status(platform: str) -> dict[str, int]:
    status: dict[str, int] = httpx.get(f"{platform}/admin/run-events/status", timeout=10).json()
    return status


def test_a_database_outage_loses_no_event(
    stack: tuple[Stack, str], toxiproxy: _toxiproxy.Toxiproxy, redis_url: str
) -> None:
    services, database_url = stack
    platform = services.url("platform")
    sent = send_batch(platform, EVENTS_PER_BATCH)
    wait_until(lambda: sender_status(platform)["acknowledged"] == len(sent), 20, what="warm-up")

    toxiproxy.set_enabled("postgres", False)
    outage_started = time.monotonic()
    for _ in range(BATCHES_DURING_OUTAGE):
        sent += send_batch(platform, EVENTS_PER_BATCH)
        time.sleep(OUTAGE_S / BATCHES_DURING_OUTAGE)
    remaining = OUTAGE_S - (time.monotonic() - outage_started)
    time.sleep(max(0.0, remaining))
    during = sender_status(platform)
    assert during["acknowledged"] == EVENTS_PER_BATCH  # nothing stored while cut off
    assert during["retries"] > 0
    toxiproxy.set_enabled("postgres", True)

    status = wait_until(
        lambda: (s := sender_status(platform))["pending"] == 0 and s,
        timeout_s=60,
        what="every event to be acknowledged after recovery",
    )
    assert (status["acknowledged"], status["rejected"], status["abandoned"]) == (len(sent), 0, 0)
    # event_id is the primary key: no event is stored twice, and counting rows would add
    # nothing to comparing sets. A duplicate could only be a retry stored under a fresh id, an
    # extra event; the stored ids being exactly the sent ones rules that out, and any loss.
    stored = {r["event_id"] for r in fetch(database_url, "SELECT event_id FROM run_events")}
    assert stored == set(sent)
    # Nor is the usage of any stored event lost: its job was enqueued in the storing transaction.
    assert {job.id for job in queued(redis_url, "usage-aggregation")} == stored

    metrics = httpx.get(f"{services.url('webhook')}/metrics", timeout=10).text
    unavailable = next(
        line
        for line in metrics.splitlines()
        if 'webhook_failures_total{reason="db_unavailable"}' in line
    )
    assert float(unavailable.split()[-1]) > 0
    delayed = fetch(
        database_url,
        "SELECT count(*) AS n FROM run_events WHERE stored_at - received_at > interval '5 seconds'",
    )
    assert delayed[0]["n"] > 0  # first reception was kept across the retries
