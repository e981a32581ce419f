"""The harness's Locust users do not send in step, from the start and after a stall.

Users spawned together on one fixed period would send every request of a period in the same
millisecond: ten requests at once, five times a second, take ten database connections at once
in the service and fill its pool for a moment (DbPoolSaturated pending in a healthy baseline).
A tiny server records when each request arrives; Locust runs the harness's own locustfile in
its own process (see LoadRun).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.load.runner import LoadIdentity, LoadProfile, LoadRun
from tests.integration._load_target import LoadTarget, serving

pytestmark = pytest.mark.integration

USERS = 10
RATE_PER_USER = 5.0
PERIOD_S = 1 / RATE_PER_USER
# Requests arriving within this of the first of them count as one burst: about a request's
# time through the services, and half the gap evenly spread users leave between them.
BURST_WINDOW_S = 0.01
IN_STEP = USERS // 2  # a burst of this many users or more: users in step
START_TIMEOUT_S = 60.0


@pytest.fixture
def server() -> Iterator[LoadTarget]:
    with serving() as target:
        yield target


def in_step_share(arrivals: list[float]) -> float:
    """The share of requests that arrived in bursts of IN_STEP or more."""
    arrivals = sorted(arrivals)
    bunched = first = 0
    while first < len(arrivals):
        last = first
        while last + 1 < len(arrivals) and arrivals[last + 1] - arrivals[first] <= BURST_WINDOW_S:
            last += 1
        size = last - first + 1
        bunched += size if size >= IN_STEP else 0
        first = last + 1
    return bunched / len(arrivals)


def start_load(server: LoadTarget, out: Path) -> tuple[LoadRun, float]:
    """Locust running against the server; returns the run and when its first request came."""
    profile = LoadProfile(USERS, RATE_PER_USER, {"studio_read": 1}, max_duration_s=60)
    run = LoadRun(server.url, LoadIdentity("k", "canary"), profile, out).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.since(0.0) and time.monotonic() < deadline and run.running:
        time.sleep(0.05)
    arrivals = server.since(0.0)
    if not arrivals:
        run.stop()
        pytest.fail(f"no request reached the server; see {out}/locust.log")
    return run, arrivals[0]


def test_users_started_together_do_not_send_in_step(server: LoadTarget, tmp_path: Path) -> None:
    run, first = start_load(server, tmp_path)
    with run:
        time.sleep(first + 4.0 - time.monotonic())
    arrivals = server.since(first + 1.0, first + 4.0)  # every user past its first beat
    assert len(arrivals) > 0.7 * 3.0 * USERS * RATE_PER_USER, len(arrivals)
    assert in_step_share(arrivals) < 0.25, sorted(arrivals)


def test_users_held_up_together_do_not_stay_in_step(server: LoadTarget, tmp_path: Path) -> None:
    run, first = start_load(server, tmp_path)
    with run:
        time.sleep(first + 1.0 - time.monotonic())
        server.stall_until = time.monotonic() + 3 * PERIOD_S  # every user waits on an answer
        time.sleep(server.stall_until + 3.5 - time.monotonic())
    arrivals = server.since(server.stall_until + 2 * PERIOD_S, server.stall_until + 3.5)
    assert len(arrivals) > 0.7 * 3.1 * USERS * RATE_PER_USER, len(arrivals)
    assert in_step_share(arrivals) < 0.25, sorted(arrivals)
