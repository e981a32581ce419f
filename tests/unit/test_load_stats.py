"""Locust's CSV statistics become typed per-route results."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import LoadError
from harness.load.runner import LoadIdentity, LoadProfile, LoadRun, read_stats

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)


def test_reads_routes_and_aggregate(tmp_path: Path) -> None:
    path = tmp_path / "locust_stats.csv"
    path.write_text(
        HEADER + "\n"
        "GET,GET /v1/automations,400,0,3,4,1,30,100,40.0,0.0,3,4,4,5,6,9,12,15,30,30,30\n"
        "POST,POST /v1/automations,100,80,5,6,1,40,100,10.0,8.0,5,6,7,8,9,20,25,30,40,40,40\n"
        ",Aggregated,500,80,3,4,1,40,100,50.0,8.0,3,4,5,5,7,12,20,25,40,40,40\n"
    )
    result = read_stats(path)
    write = result.route("POST /v1/automations")
    assert write is not None
    assert (write.requests, write.failures, write.p95_ms) == (100, 80, 20.0)
    assert result.total is not None
    assert result.total.requests == 500
    assert len(result.routes) == 2


def test_missing_stats_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no stats file"):
        read_stats(tmp_path / "absent.csv")


def test_command_is_bounded_and_headless(tmp_path: Path) -> None:
    run = LoadRun(
        "http://127.0.0.1:1",
        LoadIdentity("k", "canary"),
        LoadProfile(3, 2.0, {"studio_read": 1}, 42.7),
        tmp_path,
    )
    cmd = run.command()
    assert "--headless" in cmd
    assert cmd[cmd.index("-t") + 1] == "42s"
    assert cmd[cmd.index("-u") + 1] == "3"
