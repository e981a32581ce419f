"""Locust distributed mode on loopback: a master and two worker processes against a tiny server.

The server records which process sent each request (a test locustfile puts its PID in a
header), so the test proves both workers drove load and that the master's CSV adds up what
they sent. Locust runs only in its own processes: this test process never imports it (gevent
monkey-patching would follow, see LoadRun).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import LoadError
from harness.load.runner import LoadIdentity, LoadProfile, LoadResult, LoadRun
from tests.integration._load_target import LoadTarget, serving
from tests.integration._procs import alive

pytestmark = pytest.mark.integration

PROBE_LOCUSTFILE = textwrap.dedent(
    """
    import os
    from locust import HttpUser, constant_throughput, task
    import harness.load.locustfile  # the harness's final-report hook for distributed mode

    class Probe(HttpUser):
        wait_time = constant_throughput(float(os.environ["WRKH_RATE_PER_USER"]))

        @task
        def ping(self):
            self.client.get("/ping", headers={"X-Load-Process": str(os.getpid())}, name="GET /ping")
    """
)
USERS = 4
RATE_PER_USER = 10.0
RUN_S = 4.0
START_TIMEOUT_S = 60.0


@pytest.fixture
def server() -> Iterator[LoadTarget]:
    with serving() as target:
        yield target


def _run(server: LoadTarget, out: Path, workers: int) -> tuple[LoadRun, LoadResult]:
    server.reset()
    locustfile = out / "probe_locustfile.py"
    out.mkdir(parents=True)
    locustfile.write_text(PROBE_LOCUSTFILE)
    profile = LoadProfile(
        USERS, RATE_PER_USER, {"studio_read": 1}, max_duration_s=60, workers=workers
    )
    run = LoadRun(server.url, LoadIdentity("k", "canary"), profile, out, locustfile=locustfile)
    with run:
        # Starting three Python processes can take seconds on a busy machine: measure from
        # the moment every process drives load.
        processes = max(workers, 1)
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(server.by_process) < processes and time.monotonic() < deadline and run.running:
            time.sleep(0.1)
        time.sleep(RUN_S)
        return run, run.result()


def test_master_aggregates_the_requests_of_both_workers(server: LoadTarget, tmp_path: Path) -> None:
    run, result = _run(server, tmp_path / "distributed", workers=2)
    workers = {str(pid) for pid in run.worker_pids}
    assert len(workers) == 2
    seen = dict(server.by_process)
    assert set(seen) == workers, f"requests by process: {seen}; workers: {workers}"
    assert all(count > 5 for count in seen.values()), seen
    ping = result.route("GET /ping")
    assert ping is not None and result.total is not None
    sent = sum(seen.values())
    # The master's CSV counts what the workers reported, final reports included: at most the
    # requests in flight when the run stopped are missing.
    assert sent - USERS <= ping.requests <= sent, (ping.requests, sent)
    assert result.total.requests == ping.requests
    assert ping.failures == 0
    assert not alive({*run.worker_pids}), "a worker survived the run"
    assert run.master_port is not None


def test_distributed_results_read_like_single_process_results(
    server: LoadTarget, tmp_path: Path
) -> None:
    _, single = _run(server, tmp_path / "single", workers=0)
    _, distributed = _run(server, tmp_path / "distributed", workers=2)
    header_single = (tmp_path / "single" / "locust_stats.csv").read_text().splitlines()[0]
    header_dist = (tmp_path / "distributed" / "locust_stats.csv").read_text().splitlines()[0]
    assert header_single == header_dist
    assert [r.name for r in single.routes] == [r.name for r in distributed.routes] == ["GET /ping"]
    assert single.total is not None and distributed.total is not None
    # Same users and rate in total: the request counts agree within a generous margin (2 cores).
    low, high = sorted((single.total.requests, distributed.total.requests))
    assert low > 0.5 * high, (single.total.requests, distributed.total.requests)


DRIVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from harness.load.runner import LoadIdentity, LoadProfile, LoadRun

    out = Path(sys.argv[2])
    profile = LoadProfile(2, 5.0, {"studio_read": 1}, max_duration_s=60, workers=2)
    run = LoadRun(sys.argv[1], LoadIdentity("k", "c"), profile, out, locustfile=out / "lf.py")
    run.start()
    print(" ".join(str(p) for p in [run.pid, *run.worker_pids]), flush=True)
    time.sleep(120)
    """
)


def test_workers_die_when_the_harness_is_killed(server: LoadTarget, tmp_path: Path) -> None:
    (tmp_path / "lf.py").write_text(PROBE_LOCUSTFILE)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, server.url, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
    )  # fmt: skip
    try:
        assert driver.stdout is not None
        pids = {int(p) for p in driver.stdout.readline().split()}
        assert len(pids) == 3
        deadline = time.monotonic() + 30
        while len(server.by_process) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(server.by_process) == 2  # both workers were driving load
        os.kill(driver.pid, signal.SIGKILL)  # no teardown runs: only the death signal is left
        driver.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pids), f"survived the harness: {alive(pids)}"
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=10)


@pytest.mark.parametrize("workers", [0, 2])
def test_wait_running_returns_once_every_user_runs(
    server: LoadTarget, tmp_path: Path, workers: int
) -> None:
    """Phases are timed from here, not from the process start (seconds on a busy machine)."""
    out = tmp_path / "load"
    out.mkdir()
    (out / "lf.py").write_text(PROBE_LOCUSTFILE)
    profile = LoadProfile(USERS, RATE_PER_USER, {"studio_read": 1}, 60, workers=workers)
    with LoadRun(server.url, LoadIdentity("k", "c"), profile, out, locustfile=out / "lf.py") as run:
        assert not run.spawned_file.exists()
        run.wait_running(timeout_s=START_TIMEOUT_S)
        assert run.spawned_file.read_text().strip() == str(USERS)  # all users, in total
        deadline = time.monotonic() + 5.0
        while not server.by_process and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.by_process, "no request arrived after the users were running"


def test_wait_running_names_a_locust_that_exited_before_its_users_ran(tmp_path: Path) -> None:
    out = tmp_path / "load"
    out.mkdir()
    (out / "lf.py").write_text("raise SystemExit('broken locustfile')\n")
    profile = LoadProfile(1, 1.0, {"studio_read": 1}, 60)
    run = LoadRun("http://127.0.0.1:1", LoadIdentity("k", "c"), profile, out, out / "lf.py")
    with run, pytest.raises(LoadError, match=r"exited .* before its users ran"):
        run.wait_running(timeout_s=START_TIMEOUT_S)
