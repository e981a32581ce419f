"""Never green by accident, never a leak: `wrkh run` as a user runs it, broken on purpose.

A component killed mid-run stops the run at once and is named; a run that could not run still
writes its reports (an error verdict) and `latest` shows it; impatient Ctrl-Cs and a full disk
end in one clear message, never a traceback; a secret a service leaks reaches no report file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.report.results import write_results
from tests.report_fixtures import build_run

from ._procs import alive, descendants

ROOT = Path(__file__).resolve().parents[2]
WRKH = [sys.executable, "-m", "harness.cli"]
SCENARIO = "wrk-platform-outage"
FAULT_LINE = "fault platform-down"
pytestmark = pytest.mark.integration


class Run:
    """`wrkh run` in the background; its output lines with the moment each was read."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*WRKH, "run", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        self.lines: list[tuple[float, str]] = []
        self.seen: set[int] = set()  # every process of the run seen while it ran
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line))
            self.seen |= descendants(self.proc.pid)

    @property
    def output(self) -> str:
        return "".join(line for _, line in self.lines)

    def wait_for(self, text: str, timeout_s: float = 120) -> float:
        """When the first line holding `text` was read."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, line in list(self.lines):
                if text in line:
                    return at
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r}:\n{self.output[-3000:]}")

    def component(self, name: str) -> int:
        """PID of the run's `name` process (by its command line)."""
        for pid in descendants(self.proc.pid):
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if Path(argv[0].decode()).name == name:
                    return pid
        raise AssertionError(f"no {name} process under the run")

    def finish(self, timeout_s: float = 120) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:  # only when a test failed midway
        run.kill()


def _results(reports: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reports / "latest" / "results.json").read_text())
    return data


def _no_traceback(output: str) -> None:
    assert "Traceback" not in output and "INTERNALERROR" not in output, output[-4000:]


@pytest.mark.parametrize(
    ("component", "rolled_back"),
    [
        ("prometheus", "every touched proxy verified clean"),
        ("toxiproxy-server", "not verified, as toxiproxy (pid"),
    ],
)
def test_a_component_killed_mid_fault_stops_the_run_and_is_named(
    tmp_path: Path, runs: list[Run], component: str, rolled_back: str
) -> None:
    write_results(build_run("20000101T000000-1"), tmp_path)  # an earlier run `latest` shows
    run = Run("--report-dir", str(tmp_path), "--scenario", SCENARIO)
    runs.append(run)
    run.wait_for(FAULT_LINE)
    pid = run.component(component)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    name = component.removesuffix("-server")
    death = f"{name} (pid {pid}) exited with signal 9 (SIGKILL) during scenario {SCENARIO}"
    noticed = run.wait_for(f"{death}; stopping the run") - killed
    assert run.finish() == 1, run.output[-3000:]
    assert noticed < 2.0, f"the run learnt of the death {noticed:.1f} s after it"
    output = run.output
    _no_traceback(output)
    assert f"faults rolled back (1 were active); {rolled_back}" in output
    assert len(output.splitlines()) < 60  # one clear message, not a flood
    results = _results(tmp_path)
    assert results["run_id"] != "20000101T000000-1" and results["passed"] is False
    assert results["errors"] == [f"scenario {SCENARIO} could not run: {death}"]
    junit = (tmp_path / results["run_id"] / "junit.xml").read_text()
    assert 'type="run_error"' in junit and death in junit
    assert alive(run.seen) == set(), f"left running: {alive(run.seen)}"


def test_a_run_whose_stack_cannot_start_reports_an_error_and_latest_shows_it(
    tmp_path: Path,
) -> None:
    write_results(build_run("20000101T000000-1"), tmp_path)  # an earlier run `latest` shows
    proc = subprocess.run(
        [*WRKH, "run", "--report-dir", str(tmp_path), "--scenario", SCENARIO,
         "--fake-env", "WRK_DEFECTS=no_such_defect"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    results = _results(tmp_path)
    assert results["run_id"] != "20000101T000000-1", "latest still shows the previous run"
    assert results["passed"] is False and results["checks"] == []
    (error,) = results["errors"]
    assert error.startswith("the run could not start: service ")
    assert "no_such_defect" in error
    run_dir = tmp_path / results["run_id"]
    assert 'type="run_error"' in (run_dir / "junit.xml").read_text()
    assert (run_dir / "report.html").is_file()
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    runs = [(r["run_id"], r["passed"]) for r in ledger["runs"]]
    assert runs[0][0] == "20000101T000000-1" and runs[1] == (results["run_id"], False)
    assert "could not start" in output and "Traceback" not in output


@pytest.mark.parametrize("what", ["a file", "read-only"])
def test_a_report_folder_that_cannot_be_written_is_refused_before_anything_starts(
    tmp_path: Path, what: str
) -> None:
    reports = tmp_path / "reports"
    if what == "a file":
        reports.write_text("not a folder\n")
        reason = f"{reports} is a file, not a folder"
    else:
        reports.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(reports)],
                          capture_output=True, check=False).returncode != 0:  # fmt: skip
            pytest.skip("mounting a read-only tmpfs needs root")
        reason = f"cannot write into {reports}: Read-only file system"
    try:
        began = time.monotonic()
        proc = subprocess.run(
            [*WRKH, "run", "--report-dir", str(reports), "--scenario", SCENARIO],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        if what == "read-only":
            subprocess.run(["umount", str(reports)], check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{reports}: --report-dir: {reason}" in proc.stderr
    assert "Traceback" not in proc.stderr and "starting the" not in proc.stdout + proc.stderr
    assert time.monotonic() - began < 30  # refused up front: no stack was started


def test_three_ctrl_c_still_roll_back_tear_down_and_report(tmp_path: Path, runs: list[Run]) -> None:
    run = Run("--report-dir", str(tmp_path), "--scenario", SCENARIO)
    runs.append(run)
    run.wait_for(FAULT_LINE)
    for _ in range(3):
        os.kill(run.proc.pid, signal.SIGINT)
        time.sleep(0.3)
    assert run.finish() == 130  # not 2: an interrupted run is no bad input
    output = run.output
    _no_traceback(output)
    assert "already stopping" in output
    assert "faults rolled back (1 were active); every touched proxy verified clean" in output
    results = _results(tmp_path)
    assert results["passed"] is False
    assert any("interrupted" in e for e in results["errors"]), results["errors"]
    assert alive(run.seen) == set(), f"left running: {alive(run.seen)}"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "disk"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True, check=False).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_disk_that_fills_up_mid_run_ends_in_one_message(
    small_disk: Path, runs: list[Run]
) -> None:
    reports = small_disk / "reports"
    run = Run("--report-dir", str(reports), "--scenario", SCENARIO)
    runs.append(run)
    run.wait_for(FAULT_LINE)
    filler = small_disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:  # until the disk is full
            out.write(b"\0" * (1 << 20))
    code = run.finish()
    output = run.output
    assert code not in (0, 2), output[-3000:]
    _no_traceback(output)
    assert "No space left on device" in output
    assert alive(run.seen) == set(), f"left running: {alive(run.seen)}"
    filler.unlink()
    latest = reports / "latest"
    assert latest.is_symlink() or latest.is_dir(), "latest does not show the run"


def test_a_leaked_key_reaches_no_report_file(tmp_path: Path) -> None:
    """The issue's case: a window without warnings, a service logging the raw API key."""
    suite = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", suite / "catalog")
    baseline = (ROOT / "scenarios" / "healthy_baseline.yaml").read_text()
    quiet = re.sub(r",\s*bad_key: 1", "", baseline)
    assert quiet != baseline, "the healthy baseline's mix changed; update this test"
    (suite / "healthy_baseline.yaml").write_text(quiet)
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [*WRKH, "run", "--scenarios", str(suite), "--report-dir", str(reports),
         "--scenario", "healthy-baseline", "--fake-env", "WRK_DEFECTS=log_secret"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    run_dir = reports / _results(reports)["run_id"]
    own_logs = "".join(p.read_text() for p in (run_dir / "stack").rglob("core.log"))
    keys = set(re.findall(r"wrk_[0-9a-f]{32}", own_logs))
    assert keys, "the defect leaked no key: nothing was tested"
    leaks = [
        f"{path.relative_to(reports)} holds {key}"
        for path in reports.rglob("*")
        if path.is_file() and run_dir / "stack" not in path.parents
        for key in keys
        if key.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert not any(k in proc.stdout + proc.stderr for k in keys)
