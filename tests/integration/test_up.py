"""`wrkh up` keeps the local stack running for people; `wrkh down` (or Ctrl-C) stops it whole.

Driven through the command line as a person would: up, then a preflight against the target
file it wrote, then down; afterwards no process it started is left and its files are gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.stack import tools
from harness.stack.layout import REQUIRED_TOOLS
from tests.open_dirs import open_tempdir

ROOT = Path(__file__).resolve().parents[2]
WRKH = [sys.executable, "-m", "harness.cli"]
READY_TIMEOUT_S = 90.0
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        any(tools.find(t) is None for t in REQUIRED_TOOLS), reason="stack binaries missing"
    ),
]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(path: Path, up: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not path.exists():
        assert up.poll() is None, f"wrkh up exited {up.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {path.name} after {READY_TIMEOUT_S} s"
        time.sleep(0.2)


@pytest.fixture
def state() -> Iterator[Path]:
    """`wrkh up`'s state folder, removed afterwards."""
    with open_tempdir("wrkh-up-") as path:
        yield path


@pytest.mark.parametrize("stop", ["wrkh down", "Ctrl-C"])
def test_up_serves_a_game_day_target_then_stops_leaving_nothing(stop: str, state: Path) -> None:
    log = state / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [*WRKH, "up", "--state-dir", str(state)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(state / "up.json", up, log)
        recorded = json.loads((state / "up.json").read_text())
        pids = [recorded["pid"], *recorded["stack_pids"].values()]
        assert recorded["pid"] == up.pid and len(pids) > 10
        target_file = state / "gameday-target.yaml"
        assert oct(target_file.stat().st_mode & 0o777) == "0o600"  # it holds the API keys
        config = yaml.safe_load(target_file.read_text())
        assert config["services"]["edge"].startswith("http://127.0.0.1:")
        printed = log.read_text()
        for url in (config["prometheus"], config["alertmanager"], config["toxiproxy"]):
            assert url in printed

        pre = subprocess.run(
            [*WRKH, "preflight", "--target", "external", "--config", str(target_file)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert pre.returncode == 0, pre.stdout + pre.stderr
        assert "preflight of wrkh-up: ok" in pre.stdout

        if stop == "wrkh down":
            down = subprocess.run(
                [*WRKH, "down", "--state-dir", str(state)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert down.returncode == 0, down.stdout + down.stderr
        else:
            up.send_signal(signal.SIGINT)
        assert up.wait(timeout=90) == 0, log.read_text()
        assert [p for p in pids if _alive(p)] == []
        assert not (state / "up.json").exists() and not target_file.exists()
        assert "nothing left running" in log.read_text()
    finally:
        if up.poll() is None:  # the test failed midway: stop what it started
            os.killpg(up.pid, signal.SIGTERM)
            up.wait(timeout=90)


def test_down_without_up_says_so(state: Path) -> None:
    done = subprocess.run(
        [*WRKH, "down", "--state-dir", str(state)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "no `wrkh up` running" in done.stderr
