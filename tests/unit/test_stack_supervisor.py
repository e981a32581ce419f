"""Supervisor: dependency order, parallel readiness, cleanup on failure and on signals."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import ComponentDied, Interrupted, ServiceStartError, StackError
from harness.stack.readiness import Exited
from harness.stack.service import ServiceSpec
from harness.stack.signals import TRAP
from harness.stack.supervisor import WATCH_INTERVAL_S, Supervisor


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass(frozen=True)
class FileReady:
    """Ready once the service has created its marker file."""

    path: Path

    def check(self) -> str | None:
        return None if self.path.exists() else f"no {self.path.name} yet"


def service(tmp_path: Path, name: str, *, delay: float = 0.0, **kw: object) -> ServiceSpec:
    """A shell service that becomes ready after `delay` seconds and then sleeps."""
    marker = tmp_path / f"{name}.ready"
    script = f"sleep {delay}; echo {name} up; touch {marker}; exec sleep 60"
    return ServiceSpec(
        name=name,
        command=["sh", "-c", script],
        readiness=FileReady(marker),
        log_file=tmp_path / f"{name}.log",
        **kw,  # type: ignore[arg-type]
    )


STOPPED = "stopped"  # the file `stoppable` services note their names in, in order


def stoppable(tmp_path: Path, name: str, on_stop: str, **kw: object) -> ServiceSpec:
    """A shell service that on SIGTERM runs `on_stop`, notes its name and exits 0."""
    marker = tmp_path / f"{name}.ready"
    on_term = f"{on_stop}; echo {name} >> {tmp_path / STOPPED}; exit 0"
    script = f"trap '{on_term}' TERM; touch {marker}; while :; do sleep 0.05; done"
    return ServiceSpec(
        name,
        ["sh", "-c", script],
        FileReady(marker),
        tmp_path / f"{name}.log",
        **kw,  # type: ignore[arg-type]
    )


def test_dependencies_start_in_order_and_readiness_overlaps(tmp_path: Path) -> None:
    specs = [
        service(tmp_path, "slow_a", delay=0.5),
        service(tmp_path, "slow_b", delay=0.5),
        service(tmp_path, "top", depends_on=("slow_a", "slow_b")),
    ]
    with Supervisor() as supervisor:
        ready = supervisor.start_all(specs)
        pids = supervisor.pids
        assert set(ready) == {"slow_a", "slow_b", "top"}
        started = {p.name: p.started_at or 0 for p in supervisor.processes.values()}
        assert started["top"] > started["slow_a"] + 0.4
        # Awaited side by side: each was spawned before the other was ready (by order, not
        # by a time limit a busy machine could miss).
        ready_at = {name: started[name] + seconds for name, seconds in ready.items()}
    assert started["slow_b"] < ready_at["slow_a"]
    assert started["slow_a"] < ready_at["slow_b"]
    assert not any(alive(pid) for pid in pids.values())


def test_failed_start_stops_everything_and_names_the_service(tmp_path: Path) -> None:
    bad = ServiceSpec(
        "bad",
        ["sh", "-c", "echo 'cannot open config'; exit 4"],
        FileReady(tmp_path / "never"),
        tmp_path / "bad.log",
        depends_on=("good",),
    )
    supervisor = Supervisor()
    with pytest.raises(ServiceStartError) as caught:
        supervisor.start_all([service(tmp_path, "good"), bad])
    assert caught.value.service == "bad"
    assert "exited with code 4" in caught.value.reason
    assert "cannot open config" in caught.value.log_tail
    assert supervisor.pids and not any(alive(pid) for pid in supervisor.pids.values())
    assert not TRAP.installed


def test_hook_failure_is_a_start_failure(tmp_path: Path) -> None:
    def broken() -> None:
        raise RuntimeError("database already exists")

    supervisor = Supervisor()
    with pytest.raises(ServiceStartError, match="post-start step failed: database already"):
        supervisor.start_all([service(tmp_path, "db")], after_ready={"db": broken})
    assert not any(alive(pid) for pid in supervisor.pids.values())


def test_bad_dependency_graph_is_refused_before_starting(tmp_path: Path) -> None:
    supervisor = Supervisor()
    with pytest.raises(StackError, match="cycle"):
        supervisor.start_all(
            [service(tmp_path, "a", depends_on=("b",)), service(tmp_path, "b", depends_on=("a",))]
        )
    with pytest.raises(StackError, match="unknown"):
        supervisor.start_all([service(tmp_path, "a", depends_on=("ghost",))])
    assert supervisor.pids == {}


def test_oneshot_step_gates_its_dependents(tmp_path: Path) -> None:
    setup = ServiceSpec(
        "setup",
        ["sh", "-c", f"sleep 0.2; touch {tmp_path / 'done'}"],
        Exited(),
        tmp_path / "setup.log",
        oneshot=True,
    )
    check = ServiceSpec(
        "after",
        ["sh", "-c", f"test -e {tmp_path / 'done'} && touch {tmp_path / 'ok'}; exec sleep 60"],
        FileReady(tmp_path / "ok"),
        tmp_path / "after.log",
        depends_on=("setup",),
        start_timeout_s=3,
    )
    with Supervisor() as supervisor:
        supervisor.start_all([setup, check])


def test_sigterm_becomes_interrupted_and_tears_down(tmp_path: Path) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as caught, Supervisor() as supervisor:
        supervisor.start(service(tmp_path, "svc"))
        pid = supervisor.pids["svc"]
        signal.raise_signal(signal.SIGTERM)
        time.sleep(5)  # never reached: the handler raises
    assert caught.value.signum == signal.SIGTERM
    assert not alive(pid)
    assert signal.getsignal(signal.SIGTERM) is previous


def test_signal_during_teardown_is_delivered_afterwards(tmp_path: Path) -> None:
    """Teardown is not cut short; the signal then reaches the handler that was there before."""
    received: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: received.append(signum))
    try:
        supervisor = Supervisor()
        supervisor.start(service(tmp_path, "svc"))
        pid = supervisor.pids["svc"]
        process = supervisor.processes["svc"]
        original_stop = process.stop

        def stop_and_get_signalled(timeout_s: float | None = None) -> int | None:
            signal.raise_signal(signal.SIGHUP)
            return original_stop(timeout_s)

        process.stop = stop_and_get_signalled  # type: ignore[method-assign]
        supervisor.stop()
        assert not alive(pid)
        assert received == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_service_that_dies_is_reported_once_by_name_pid_and_signal(tmp_path: Path) -> None:
    deaths: list[ComponentDied] = []
    setup = ServiceSpec("setup", ["true"], Exited(), tmp_path / "setup.log", oneshot=True)
    with Supervisor() as supervisor:
        supervisor.start_all([setup, service(tmp_path, "prometheus"), service(tmp_path, "other")])
        supervisor.watch(deaths.append)
        pid = supervisor.pids["prometheus"]
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        while not deaths and time.monotonic() < killed + 5:
            time.sleep(0.01)
        noticed = time.monotonic() - killed
        time.sleep(3 * WATCH_INTERVAL_S)  # no second report of the same death
        assert [str(d) for d in deaths] == [
            f"prometheus (pid {pid}) exited with signal 9 (SIGKILL)"
        ]
        assert noticed < 2.0  # the bound a run promises (a few intervals; generous under load)
    time.sleep(3 * WATCH_INTERVAL_S)
    assert len(deaths) == 1  # stopping the others on purpose is no death


def test_a_died_error_says_what_the_run_was_doing() -> None:
    died = ComponentDied("toxiproxy", 42, "exited with code 2")
    assert str(died.in_context("scenario slow-database")) == (
        "toxiproxy (pid 42) exited with code 2 during scenario slow-database"
    )


def test_teardown_overlaps_slow_shutdowns(tmp_path: Path) -> None:
    """Every process gets its stop signal before the supervisor waits for any of them."""
    # Each exits 0.6 s after SIGTERM: one by one, the three would take 1.8 s.
    specs = [stoppable(tmp_path, name, "sleep 0.6") for name in ("slow_a", "slow_b", "slow_c")]
    supervisor = Supervisor()
    supervisor.start_all(specs)
    pids = list(supervisor.pids.values())
    began = time.monotonic()
    supervisor.stop()
    elapsed = time.monotonic() - began
    assert not any(alive(pid) for pid in pids)
    assert 0.5 < elapsed < 1.5, elapsed


def test_a_dependency_is_stopped_only_after_its_dependents_have_exited(tmp_path: Path) -> None:
    """An application gets its stop signal while its database still runs; the database gets
    its own once the application has exited, however slowly it shuts down."""
    specs = [
        stoppable(tmp_path, "db", "true"),
        stoppable(tmp_path, "app", "sleep 0.5", depends_on=("db",)),
        stoppable(tmp_path, "peer", "true"),  # nothing depends on it, nor it on anything
    ]
    supervisor = Supervisor()
    supervisor.start_all(specs)
    pids = list(supervisor.pids.values())
    supervisor.stop()
    assert not any(alive(pid) for pid in pids)
    stopped = (tmp_path / STOPPED).read_text().split()
    assert stopped.index("app") < stopped.index("db"), stopped
    assert stopped.index("peer") < stopped.index("db"), stopped
