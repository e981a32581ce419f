"""Locust distributed mode: the master's and workers' command lines, and failure reporting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import LoadError
from harness.load.runner import EXPECT_WORKERS_MAX_WAIT_S, LoadIdentity, LoadProfile, LoadRun


def make_run(tmp_path: Path, workers: int) -> LoadRun:
    profile = LoadProfile(4, 2.0, {"studio_read": 1}, 30.0, workers=workers)
    return LoadRun("http://127.0.0.1:1", LoadIdentity("k", "canary"), profile, tmp_path)


def test_single_process_mode_has_no_master_flags(tmp_path: Path) -> None:
    command = make_run(tmp_path, workers=0).command()
    assert "--master" not in command and "--expect-workers" not in command


def test_master_listens_on_loopback_and_waits_a_bounded_time_for_its_workers(
    tmp_path: Path,
) -> None:
    run = make_run(tmp_path, workers=3)
    run.master_port = 23456
    command = run.command()
    assert "--master" in command
    assert command[command.index("--master-bind-host") + 1] == "127.0.0.1"
    assert command[command.index("--master-bind-port") + 1] == "23456"
    assert command[command.index("--expect-workers") + 1] == "3"
    assert command[command.index("--expect-workers-max-wait") + 1] == str(EXPECT_WORKERS_MAX_WAIT_S)
    # The master keeps the run's bounds and writes the CSV, as a single process would.
    for flag in ("--headless", "--csv", "-t", "-u"):
        assert flag in command
    assert command[command.index("-u") + 1] == "4"  # users in total, spread over the workers


def test_workers_connect_to_the_master_on_loopback(tmp_path: Path) -> None:
    run = make_run(tmp_path, workers=2)
    run.master_port = 23456
    command = run.worker_command()
    assert command[:3] == [sys.executable, "-m", "locust"]
    assert "--worker" in command and "--headless" not in command and "--csv" not in command
    assert command[command.index("--master-host") + 1] == "127.0.0.1"
    assert command[command.index("--master-port") + 1] == "23456"


def test_a_master_that_wrote_no_stats_is_reported_with_its_log(tmp_path: Path) -> None:
    run = make_run(tmp_path, workers=2)
    (tmp_path / "locust.log").write_text("Gave up waiting for workers to connect\n")
    with pytest.raises(LoadError, match=r"(?s)no stats file.*Gave up waiting for workers"):
        run.result()


def test_wrkh_run_passes_the_worker_count_and_target_to_pytest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pytest as pytest_module

    from harness import cli

    seen: list[list[str]] = []
    monkeypatch.setattr(pytest_module, "main", lambda argv: seen.append(argv) or 0)
    assert cli.main(["run", "--load-workers", "3", "--target", "compose"]) == 0
    argv = seen[0]
    assert argv[argv.index("--wrk-load-workers") + 1] == "3"
    assert argv[argv.index("--wrk-target") + 1] == "compose"
    assert cli.main(["run"]) == 0
    assert "--wrk-load-workers" not in seen[1]
    assert seen[1][seen[1].index("--wrk-target") + 1] == "local"


def test_the_session_hands_the_worker_count_to_each_scenarios_load(tmp_path: Path) -> None:
    from harness.run.session import ConformanceSession, RunOptions

    root = Path(__file__).resolve().parents[2] / "scenarios"
    scenario = root / "healthy_baseline.yaml"
    plans: list[object] = []

    class Recorder:
        def run(self, plan: object) -> object:
            plans.append(plan)
            return plan

    for workers in (0, 2):
        options = RunOptions(root / "catalog", tmp_path, load_workers=workers)
        session = ConformanceSession.prepare(options, [scenario])
        session._env.runner = Recorder()  # type: ignore[assignment]
        session.run_file(scenario)
    assert [p.load.workers for p in plans] == [0, 2]  # type: ignore[attr-defined]
